"""A handler module whose import (the init phase) takes INIT_SLEEP_S seconds, every time it is loaded."""

import os
import time

STARTED = time.time()
time.sleep(float(os.environ.get("INIT_SLEEP_S", "0")))


def handler(event, context):
    """Returns how long its init took and its process id."""
    return {"pid": os.getpid(), "init_s": time.time() - STARTED}
