"""The Celery app: `celery -A celery_worker worker` and `celery -A celery_worker beat`."""

from campaigns import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
celery = celery_app  # the name `celery -A celery_worker` looks for first
