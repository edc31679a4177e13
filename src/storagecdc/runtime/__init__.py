"""The changefeed lifecycle: wiring, resume, progress and metrics."""
