"""Transports carry a client call to the app that serves it: in-process, HTTP (NATS in betrue.nats)."""
