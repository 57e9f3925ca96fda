"""Petitions: the public signing page, double opt-in by email, and consent records."""
