"""The public home page: the network's live campaigns."""
