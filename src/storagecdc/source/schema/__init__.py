"""Table schemas at every point of the stream: DDL tracking and initial schemas."""
