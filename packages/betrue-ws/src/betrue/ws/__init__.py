"""betrue.ws."""
