"""Per-table-span dispatchers and the router."""
