"""Member networks: the national networks and groups that make up the umbrella network."""
