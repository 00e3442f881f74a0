"""The microservices shape: a gateway, a ``game`` app and a ``chat`` app as three processes (see run.py)."""
