"""Reads the layout back in order and replays it into a database."""
