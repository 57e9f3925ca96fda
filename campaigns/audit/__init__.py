"""The audit log: who saw or changed what, when and from where. Append-only."""
