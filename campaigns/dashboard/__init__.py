"""The campaign dashboard: counts, charts and the map, from aggregates."""
