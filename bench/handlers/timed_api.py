"""The orders API handler, with its cold start split into parts: import, settings, connect, request.

It imports ``orders.handlers.api`` exactly as the runtime would, then on its first invocation
does the three first-use steps the real handler does implicitly, one at a time with a clock
around each: load the settings from SSM, open the reader connection (TLS, SCRAM), and answer the
request through the real handler (routing, validation, the query). The sum is the real cold start
give or take a few microseconds; the parts say where it goes. Wall-clock stamps are used because
the process start is measured by the parent, on the same machine's clock.
"""

import time

MODULE_START = time.time()

from orders.database import Role  # noqa: E402 - timed import
from orders.handlers import api  # noqa: E402 - timed import

MODULE_IMPORTED = time.time()


def handler(event: dict[str, object], context: object) -> dict[str, object]:
    """Answer ``event`` through the real handler; add the timings of each first-use step."""
    invoked = time.time()
    service = api.service()
    service.settings.load()
    settings_loaded = time.time()
    service.database.run(Role.READER, lambda _cursor: None)  # connect only: no statement is sent
    connected = time.time()
    response = api.handler(event, context)
    returned = time.time()
    return {
        "response": response,
        "timings": {
            "module_start": MODULE_START,
            "module_imported": MODULE_IMPORTED,
            "invoked": invoked,
            "settings_loaded": settings_loaded,
            "connected": connected,
            "returned": returned,
        },
    }
