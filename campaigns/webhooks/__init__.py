"""Webhooks to member networks, by the Standard Webhooks specification: endpoints and their
secrets, signed messages, and their delivery by workers with retries (see delivery.py)."""
