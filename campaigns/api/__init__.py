"""The public JSON API (counts for embeds); the authenticated API for member networks comes later."""
