"""The cold-start baseline: a handler that imports nothing and does nothing.

What it costs is the runtime itself (a Python process, awslambdaric, one Runtime API round trip),
so the orders API's cold start minus this is what the function's own code adds.
"""

import time

MODULE_LOADED = time.time()  # wall clock: compared with the parent's clock, on the same machine


def handler(event: dict[str, object], context: object) -> dict[str, object]:
    """Report when this module was imported and when the invocation arrived."""
    return {"timings": {"module_start": MODULE_LOADED, "invoked": time.time(), "returned": time.time()}}
