"""The barrier coordinator, span scheduling and checkpoint aggregation."""
