"""Import time of the API handler module on the Lambda runtime's Python, as packaged, each round a fresh process.

Measured on the interpreter of the runtime's minor version with the code laid out as Lambda lays
it out (``bench.layout``: ``function.zip`` extracted, the layer, the runtime directory with boto3
and awslambdaric), bytecode from the archives only (``PYTHONDONTWRITEBYTECODE``: Lambda's code
directories are read-only), and the variables the runtime sets, so powertools' tracer is on and
X-Ray patches what it is told to at import, as in Lambda. ``-X importtime`` gives the module's
cumulative import time without process start-up, and the own time per top-level package says
where it goes; a plain ``python -c 'import ...'`` gives the wall time a cold start pays for it.
Baselines: ``import boto3`` (what any function calling AWS imports) and an interpreter doing nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bench.groups import Context
from bench.harness import Figure, bounded, latency_figure, progress
from bench.layout import Layout, lambda_layout
from bench.processes import base_environment, run_timed
from contract.runtime import LAMBDA_RUNTIME, TASK_ROOT

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


def lambda_environment(layout: Layout) -> dict[str, str]:
    """The variables the local runtime gives the API function that matter at import time, and its import path.

    Credentials are set (placeholders: nothing is called) so that building the SSM client in the
    init phase finds them at once, as on Lambda, rather than asking an instance metadata service.
    """
    return base_environment(
        {
            "PYTHONPATH": layout.import_path(layout.packaged),
            "PYTHONDONTWRITEBYTECODE": "1",
            "LAMBDA_TASK_ROOT": TASK_ROOT,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{LAMBDA_RUNTIME}",
            "AWS_LAMBDA_FUNCTION_NAME": "serverless-infra-dev-function-api",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "placeholder",
            "AWS_SECRET_ACCESS_KEY": "placeholder",
            "POWERTOOLS_SERVICE_NAME": "orders-api",
            "POWERTOOLS_METRICS_NAMESPACE": "ServerlessInfra",
        }
    )


async def _importtime(layout: Layout, module: str) -> list[ImportLine]:
    code, _, err = await run_timed(
        [layout.python, "-X", "importtime", "-c", f"import {module}"],
        environment=lambda_environment(layout),
        timeout_s=60,
    )
    if code != 0:
        raise RuntimeError(f"importing {module} with {layout.python} failed: {err[-800:]}")
    return parse_importtime(err)


async def _wall_ms(layout: Layout, code: str) -> float:
    started = time.perf_counter()
    status, _, err = await run_timed([layout.python, "-c", code], environment=lambda_environment(layout), timeout_s=60)
    elapsed = (time.perf_counter() - started) * 1000
    if status != 0:
        raise RuntimeError(f"python -c {code!r} failed: {err[-800:]}")
    return elapsed


async def run(context: Context) -> list[Figure]:
    rounds = context.pick(5, 3)
    progress(f"imports: laying out function.zip and the layer for {LAMBDA_RUNTIME}")
    layout = await lambda_layout(context.workdir)
    if layout is None:
        raise RuntimeError("build/layer.zip is missing: build it with `nox -s package`")
    series: dict[str, list[float]] = {"module": [], "sdk": [], "wall": [], "startup": []}
    last: list[ImportLine] = []
    await _wall_ms(layout, f"import {MODULE}")  # unmeasured: the operating system's file cache
    for index in bounded(rounds, context.pick(90.0, 40.0)):
        progress(f"imports: round {index + 1}/{rounds}")
        last = await _importtime(layout, MODULE)
        series["module"].append(cumulative_ms(last, MODULE))
        series["sdk"].append(cumulative_ms(await _importtime(layout, "boto3"), "boto3"))
        series["wall"].append(await _wall_ms(layout, f"import {MODULE}"))
        series["startup"].append(await _wall_ms(layout, "pass"))
    details = {"interpreter": layout.python, "heaviest_packages_ms": heaviest_packages(last)}
    return [
        latency_figure(
            GROUP,
            f"import {MODULE} (-X importtime), {LAMBDA_RUNTIME} as packaged",
            series["module"],
            baseline=("import boto3", series["sdk"]),
            details=details,
        ),
        latency_figure(
            GROUP,
            f"python -c 'import {MODULE}' (wall), as packaged",
            series["wall"],
            baseline=("python -c pass", series["startup"]),
        ),
    ]
