"""Encoders: CSV, canal-json and Parquet."""
