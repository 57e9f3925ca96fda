"""Exports of signatures (streaming CSV) and the printable delivery report."""
