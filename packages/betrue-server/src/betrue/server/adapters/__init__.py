"""Adapters expose an application's commands on a transport (HTTP here; WebSocket and NATS elsewhere)."""
