"""backdrop: a self-hosted, LightX-compatible image background service."""

__version__ = "0.1.0"
