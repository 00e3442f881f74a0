"""A tiny betrue app: one service, two commands (``betrue run examples.hello.app:app``)."""
