"""Process-independent observability: metrics and heartbeats kept in Redis (no Django models)."""
