"""betrue.config."""
