"""Campaigns: the public face of an action (its texts in every language, its status)."""
