"""betrue.nats."""
