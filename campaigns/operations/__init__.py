"""Running the platform: health and readiness probes, the staff status page, `flask doctor`, and
the heartbeats of the workers and of beat that they read."""
