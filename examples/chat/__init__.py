"""The chat example: rooms, messages and presence over WebSocket, served as one process (``make run``)."""
