"""betrue.postgres."""
