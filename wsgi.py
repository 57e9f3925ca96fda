"""The WSGI app: `gunicorn wsgi:app`."""

from campaigns import create_app

app = create_app()
