"""Logger, tracer and metrics shared by the handlers (powertools), created once per environment."""

from __future__ import annotations

from typing import Final

from aws_lambda_powertools import Logger, Metrics, Tracer

TRACED_LIBRARIES: Final = ("botocore", "psycopg2")
"""What X-Ray instruments: the AWS calls and the SQL the functions make, and nothing else.

Left to itself the tracer patches every library X-Ray supports (``aws_xray_sdk.core.patch_all``),
importing each one's instrumentation at init, for http.client, sqlite3 and requests that the
functions never use (http.client under botocore would only duplicate its AWS subsegments):
https://docs.powertools.aws.dev/lambda/python/latest/core/tracer/ ("patch_modules"),
https://docs.aws.amazon.com/xray/latest/devguide/xray-sdk-python-patching.html"""

logger = Logger()  # JSON, service name from POWERTOOLS_SERVICE_NAME
tracer = Tracer(patch_modules=TRACED_LIBRARIES)  # X-Ray; disabled outside Lambda unless POWERTOOLS_TRACE_DISABLED=false
metrics = Metrics()  # EMF, namespace from POWERTOOLS_METRICS_NAMESPACE
