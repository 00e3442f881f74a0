"""betrue.static."""
