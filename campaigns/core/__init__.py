"""Shared infrastructure: database helpers, the event outbox, mail, security, languages."""
