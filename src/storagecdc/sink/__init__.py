"""Turns change events into files on an object store."""
