"""The Celery app: `celery -A celery_worker worker` and `celery -A celery_worker beat`."""

from campaigns import create_app
from workers import TASK_MODULES

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
# The worker imports the task modules; the web app only publishes tasks by name.
celery_app.conf.include = TASK_MODULES
celery = celery_app  # the name `celery -A celery_worker` looks for first
