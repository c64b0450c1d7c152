"""The floor of the orders API's cold start: what its required pieces cost with no code of its own.

The smallest function that does what the API's first request must: read its settings from
Parameter Store through the SDK the Lambda runtime ships (boto3, the SSM client made in the init
phase as AWS recommends: https://docs.aws.amazon.com/lambda/latest/dg/best-practices.html,
"Initialize SDK clients ... outside of the function handler"; one decrypted GetParameter) and open
one PostgreSQL connection with psycopg2, TLS ``verify-full`` (the driver and TLS mode the design
requires). No HTTP routing, validation, logging, metrics or tracing. Whatever the API defers, its
cold start cannot be below this; against the empty handler it is the part of a cold-start budget
the required pieces alone take. The benchmark names the parameter (``FLOOR_PARAMETER``, one the API
reads) and the connection (``FLOOR_DSN``).
"""

import os
import time

MODULE_START = time.time()

import boto3  # noqa: E402 - timed import
import psycopg2  # noqa: E402 - timed import

SSM = boto3.client("ssm")

MODULE_IMPORTED = time.time()


def handler(event: dict[str, object], context: object) -> dict[str, object]:
    """Read one parameter with decryption, connect once and run ``SELECT 1``; report the stamps."""
    invoked = time.time()
    SSM.get_parameter(Name=os.environ["FLOOR_PARAMETER"], WithDecryption=True)
    settings_loaded = time.time()
    with psycopg2.connect(os.environ["FLOOR_DSN"]) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    connection.close()
    return {
        "timings": {
            "module_start": MODULE_START,
            "module_imported": MODULE_IMPORTED,
            "invoked": invoked,
            "settings_loaded": settings_loaded,
            "returned": time.time(),
        }
    }
