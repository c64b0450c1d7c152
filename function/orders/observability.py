"""Logger, tracer and metrics shared by the handlers (powertools), created once per environment."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()  # JSON, service name from POWERTOOLS_SERVICE_NAME
tracer = Tracer()  # X-Ray; disabled outside Lambda unless POWERTOOLS_TRACE_DISABLED=false
metrics = Metrics()  # EMF, namespace from POWERTOOLS_METRICS_NAMESPACE
