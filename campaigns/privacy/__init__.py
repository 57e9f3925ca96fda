"""A supporter's preferences page: what we hold for their address, and how to withdraw it."""
