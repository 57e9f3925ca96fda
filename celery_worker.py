"""The Celery app: `celery -A celery_worker worker` and `celery -A celery_worker beat`."""

from campaigns import create_app
from campaigns.operations.heartbeats import install as install_heartbeats
from workers import TASK_MODULES, log_context

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
# The worker imports the task modules; the web app only publishes tasks by name.
celery_app.conf.include = TASK_MODULES
# Workers say which queues they serve, beat when it ticked (the staff status page, `doctor`).
install_heartbeats(celery_app)
log_context.install()  # the app's log format in workers and beat, with request ids
celery = celery_app  # the name `celery -A celery_worker` looks for first
