"""Alerts to member networks: what each subscribes to, the alerts made from the platform's events
(a campaign launched, a milestone, an urgent action staff write, a mailing sent, the weekly
digest), sent by email to the network's contacts and as webhooks to its endpoints."""
