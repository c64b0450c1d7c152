"""Import time of the API handler module, each round in a fresh interpreter.

Measured in the interpreter the functions run (the layer's virtualenv: only what Lambda has)
with the variables the runtime sets, so powertools' tracer is on and X-Ray patches the libraries
it finds at import, as in Lambda (in a virtualenv full of test tools it would also import those).
``-X importtime`` gives the module's cumulative import time without process start-up, and the
own time per top-level package says where it goes; a plain ``python -c 'import ...'`` gives the
wall time a cold start pays for it. Baselines: ``import boto3`` (what any function calling AWS
imports) and an interpreter doing nothing. Bytecode is cached (an unmeasured import first); the
cold-start group measures the shipped layout, which has none.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench.groups import Context
from bench.harness import Figure, bounded, latency_figure, progress
from bench.processes import CODE_PATHS, base_environment, run_timed

GROUP = "imports"
MODULE = "orders.handlers.api"


@dataclass(frozen=True)
class ImportLine:
    """One line of ``-X importtime``: nesting depth, own and cumulative microseconds, module name."""

    depth: int
    self_us: int
    cumulative_us: int
    name: str


def parse_importtime(text: str) -> list[ImportLine]:
    """The lines of ``python -X importtime`` output (stderr); other lines are ignored."""
    lines: list[ImportLine] = []
    for raw in text.splitlines():
        if not raw.startswith("import time:") or "self [us]" in raw:
            continue
        try:
            head, cumulative, module = raw.split("|", 2)
            own_us, cumulative_us = int(head.split(":", 1)[1]), int(cumulative)
        except ValueError:
            continue
        stripped = module[1:] if module.startswith(" ") else module
        depth = (len(stripped) - len(stripped.lstrip(" "))) // 2
        lines.append(ImportLine(depth, own_us, cumulative_us, stripped.strip()))
    return lines


def cumulative_ms(lines: list[ImportLine], module: str) -> float:
    for line in lines:
        if line.name == module:
            return line.cumulative_us / 1000
    raise ValueError(f"{module} does not appear in the importtime output")


def heaviest_packages(lines: list[ImportLine], count: int = 8) -> dict[str, float]:
    """Own import time (ms) summed per top-level package: where the time goes, without double counting."""
    totals: dict[str, float] = {}
    for line in lines:
        package = line.name.split(".", 1)[0]
        totals[package] = totals.get(package, 0.0) + line.self_us / 1000
    ranked = sorted(totals.items(), key=lambda item: item[1], reverse=True)[:count]
    return {package: round(ms, 1) for package, ms in ranked}


def lambda_environment() -> dict[str, str]:
    """The variables the local runtime gives the API function that matter at import time."""
    return base_environment(
        {
            "LAMBDA_TASK_ROOT": str(CODE_PATHS[0]),
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            "AWS_LAMBDA_FUNCTION_NAME": "serverless-infra-dev-function-api",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_SERVICE_NAME": "orders-api",
            "POWERTOOLS_METRICS_NAMESPACE": "ServerlessInfra",
        }
    )


async def _importtime(python: str, module: str) -> list[ImportLine]:
    code, _, err = await run_timed(
        [python, "-X", "importtime", "-c", f"import {module}"], environment=lambda_environment(), timeout_s=60
    )
    if code != 0:
        raise RuntimeError(f"importing {module} with {python} failed: {err[-800:]}")
    return parse_importtime(err)


async def _wall_ms(python: str, code: str) -> float:
    started = time.perf_counter()
    status, _, err = await run_timed([python, "-c", code], environment=lambda_environment(), timeout_s=60)
    elapsed = (time.perf_counter() - started) * 1000
    if status != 0:
        raise RuntimeError(f"python -c {code!r} failed: {err[-800:]}")
    return elapsed


async def run(context: Context) -> list[Figure]:
    rounds = context.pick(5, 3)
    layer = context.function_python
    series: dict[str, list[float]] = {"module": [], "sdk": [], "wall": [], "startup": []}
    last: list[ImportLine] = []
    await _wall_ms(layer, f"import {MODULE}")  # unmeasured: compiles and caches the bytecode a fresh venv lacks
    for index in bounded(rounds, context.pick(90.0, 30.0)):
        progress(f"imports: round {index + 1}/{rounds}")
        last = await _importtime(layer, MODULE)
        series["module"].append(cumulative_ms(last, MODULE))
        series["sdk"].append(cumulative_ms(await _importtime(layer, "boto3"), "boto3"))
        series["wall"].append(await _wall_ms(layer, f"import {MODULE}"))
        series["startup"].append(await _wall_ms(layer, "pass"))
    details = {"interpreter": layer, "heaviest_packages_ms": heaviest_packages(last)}
    return [
        latency_figure(
            GROUP,
            f"import {MODULE} (-X importtime)",
            series["module"],
            baseline=("import boto3", series["sdk"]),
            details=details,
        ),
        latency_figure(
            GROUP,
            f"python -c 'import {MODULE}' (wall)",
            series["wall"],
            baseline=("python -c pass", series["startup"]),
        ),
    ]
