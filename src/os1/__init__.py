"""OS1: an open, private, offline personal AI companion."""

__version__ = "0.1.0"
