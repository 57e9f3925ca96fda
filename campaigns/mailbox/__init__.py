"""Staff pages to read what the built-in mail catcher received (embedded stack)."""
