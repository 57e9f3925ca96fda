"""Tallies: confirmed counts per petition, country and network, and milestones.

The database is the truth. Redis holds a hash per petition for the public pages. A confirmation
adds to it at once (in the request, and again idempotently in the worker's event handler), a
rejection invalidates it, and beat rebuilds it from the database on a schedule.
"""
