"""API keys: what a member network's server or an integration of the platform sends as
`Authorization: Bearer ...` to use the JSON API. Made by admins (staff pages, `flask api-keys`),
shown once, stored only as a hash; each has scopes, may expire, and can be revoked."""
