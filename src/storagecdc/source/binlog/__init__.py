"""Binlog framing, event decoding and row decoding."""
