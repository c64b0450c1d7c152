"""The Lambda runtime the functions run on: one identifier, read by the program, the packager and the local stack.

``python3.13`` rather than ``python3.12``: both run on Amazon Linux 2023 and cold-start alike for a
hello-world handler (lambda-perf), but AWS deprecates python3.13 on 2029-06-30 and python3.12 on
2028-10-31 (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html), and every library
of the layer publishes cp313 manylinux aarch64 wheels. SnapStart supports both
(https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html). docs/design.md, "Runtime and bytecode".
"""

from __future__ import annotations

from typing import Final

LAMBDA_RUNTIME: Final = "python3.13"
"""The runtime identifier of every function and of the layer's compatible runtimes."""

LAMBDA_ARCHITECTURE: Final = "arm64"
"""Graviton: the layer's compiled wheels are built for manylinux aarch64."""

TASK_ROOT: Final = "/var/task"
"""Where Lambda extracts the function archive (``LAMBDA_TASK_ROOT``):
https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime"""

RUNTIME_DIR: Final = "/var/runtime"
"""Where the runtime's own libraries are (``LAMBDA_RUNTIME_DIR``): the runtime client and the AWS SDK.
https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime"""

LAYER_PYTHON_PATH: Final = "/opt/python"
"""Where a layer's ``python/`` directory lands, on every Python runtime's import path:
https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html#packaging-layers-paths"""
