"""Celery tasks: thin, explicitly named wrappers over domain services.

Every task takes ids (never ORM objects), tolerates extra keyword arguments (so a rolling deploy
can add one), is acknowledged late and may run twice: the services they call are idempotent.
"""
