"""Entry point the Pulumi CLI runs: read settings, compose the stack, export its outputs."""

import sys
from pathlib import Path

# The CLI puts only infra/ on sys.path; the shared, dependency-free contract package sits beside it.
sys.path.append(str(Path(__file__).resolve().parent.parent))

from serverless_infra.settings import load_settings
from serverless_infra.stack import build, export_outputs

export_outputs(build(load_settings()))
