"""A seeded, deterministic simulator of dispatchers, maintainer and the real storage sink under faults."""
