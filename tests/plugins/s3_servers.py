"""pytest plugin: s3_servers (filled in by its owner)."""
