"""The floor of any function that reads Parameter Store: the AWS SDK, an SSM client, one GetParameter.

The smallest function that reads its configuration the documented way: boto3 (which the Lambda
runtime ships) imported and the SSM client created in the init phase, as AWS recommends
(https://docs.aws.amazon.com/lambda/latest/dg/best-practices.html, "Initialize SDK clients ...
outside of the function handler"), and one decrypted GetParameter on the first invocation. The
orders API cannot start faster than this, whatever it defers: its first request needs its
settings, and only the SDK reads them. Compared with the empty handler, it is the part of a
cold-start budget the SDK alone takes. The parameter is named by the benchmark
(``FLOOR_PARAMETER``), one the API itself reads.
"""

import os
import time

MODULE_START = time.time()

import boto3  # noqa: E402 - timed import

SSM = boto3.client("ssm")

MODULE_IMPORTED = time.time()


def handler(event: dict[str, object], context: object) -> dict[str, object]:
    """Read one parameter, with decryption; report when the module started, was ready and answered."""
    invoked = time.time()
    SSM.get_parameter(Name=os.environ["FLOOR_PARAMETER"], WithDecryption=True)
    return {
        "timings": {
            "module_start": MODULE_START,
            "module_imported": MODULE_IMPORTED,
            "invoked": invoked,
            "returned": time.time(),
        }
    }
