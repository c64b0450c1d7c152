"""The orders service: thin Lambda handlers over pure, testable logic.

Nothing here imports pulumi or the infrastructure program; the shared ``contract`` package (the
parameter hierarchy and workload table) ships inside the same archive.

Pydantic looks for plugins at the first model it builds by reading the entry points of every
installed distribution (https://docs.pydantic.dev/latest/concepts/plugins/); the function uses
none, and the scan is tens of milliseconds of every cold start, so it is switched off here, before
any module imports pydantic, unless the environment already says otherwise.
"""

import os

os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
