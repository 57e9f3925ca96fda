"""Tallies: confirmed counts per petition, country and network, and milestones.

The database is the truth. Redis holds a hash per petition for the public pages, updated by the
worker when a signature is confirmed or rejected, and rebuilt from the database on a schedule.
"""
