"""Prometheus metrics at /metrics for the people who run reviewqueue (README: "Metrics")."""
