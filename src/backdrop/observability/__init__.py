"""Metrics and logs: what an operator sees of a running server."""
