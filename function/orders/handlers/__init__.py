"""Lambda entry points: one module per workload, each a thin adapter over orders.service."""
