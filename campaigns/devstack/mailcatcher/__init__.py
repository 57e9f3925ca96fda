"""The built-in mail catcher: an SMTP server that keeps every message in a Maildir (server.py),
and the staff pages that read them (views.py, render.py)."""
