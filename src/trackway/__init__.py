"""Trackway: a self-hosted customer tracking server."""

__version__ = "0.1.0"
