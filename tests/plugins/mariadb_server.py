"""pytest plugin: mariadb_server (filled in by its owner)."""
