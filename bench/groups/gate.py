"""Wall time of the offline policy gate, ``python -m offline.gate --stack X``, per stack and all at once.

Each run is a fresh process, as in CI: the Pulumi program under the mocks, the policy pack's
start, the analysis (the pack works while the program runs). The last figure gates the three
stacks in one process (``--stack dev --stack staging --stack prod``), which imports the SDK once.
The function archives it would hash are stand-ins made here (the gate only hashes them), so the
figure does not depend on a previous ``nox -s package``. Two baselines: importing the Pulumi SDK and
the AWS provider (whose service modules load lazily), and the program's SDK floor: loading the
provider class of every resource type the largest stack registers, which any run of this program
pays before it registers anything, ``pulumi preview`` included (the CLI runs the same program on
the same SDK).
"""

from __future__ import annotations

import json
import re
import time
import zipfile
from pathlib import Path

from bench.groups import GATE_ALL_STACKS, GATE_BOTH_PACKS, GATE_ONE_STACK, Context
from bench.harness import Figure, bounded, latency_figure, progress
from bench.processes import base_environment, run_timed
from offline.gate.packs import PROJECT_PACKS

GROUP = "gate"
PROVIDER_TOKEN = re.compile(
    r"^(?P<package>[a-z0-9-]+):(?P<module>[A-Za-z0-9_]+)(?:/[A-Za-z0-9]+)?:(?P<cls>[A-Za-z0-9]+)$"
)  # package:module/member:Class, e.g. aws:ec2/vpc:Vpc
KEYWORD_MODULES = {"lambda": "lambda_"}  # Python keywords get a trailing underscore in the SDKs' module names
SPLIT = re.compile(r"done in ([\d.]+) s \(program ([\d.]+) s, pack start ([\d.]+) s, analysis ([\d.]+) s\)")


class GateError(RuntimeError):
    """The gate could not run (exit 2) or its output was not understood."""


def stand_in_archives(directory: Path) -> dict[str, Path]:
    """Small zip files for ``functionArchive`` and ``layerArchive``, like the unit suite's."""
    function_zip, layer_zip = directory / "function.zip", directory / "layer.zip"
    with zipfile.ZipFile(function_zip, "w") as archive:
        archive.writestr("contract/__init__.py", "")
    with zipfile.ZipFile(layer_zip, "w") as archive:
        archive.writestr("python/README.txt", "stand-in layer for the benchmark\n")
    return {"serverless-infra:functionArchive": function_zip, "serverless-infra:layerArchive": layer_zip}


def sdk_floor_code(resource_types: list[str]) -> str:
    """Python that loads the SDK class of each provider resource type (``aws:ec2/vpc:Vpc`` -> ``pulumi_aws.ec2.Vpc``).

    Component and stack types (``pulumi:pulumi:Stack``, the program's own ``serverless-infra:index:*``)
    have no provider package and are left out. The providers' service modules load lazily, on first
    access to a class, as they do when the program touches them.
    """
    loads: set[tuple[str, str]] = set()
    for token in resource_types:
        found = PROVIDER_TOKEN.match(token)
        if found is None or found["package"] in ("pulumi", "serverless-infra"):
            continue
        package = "pulumi_" + found["package"].replace("-", "_")
        module = found["module"]
        path = package if module == "index" else f"{package}.{KEYWORD_MODULES.get(module, module)}"
        loads.add((path, found["cls"]))
    lines = ["import importlib", "import pulumi"]
    lines += [f"getattr(importlib.import_module({path!r}), {cls!r})" for path, cls in sorted(loads)]
    return "\n".join(lines)


def registered_types(report: Path) -> list[str]:
    """The resource types in a gate JSON report."""
    document = json.loads(report.read_text())
    return sorted({str(resource["type"]) for resource in document["resources"]})


async def _timed(command: list[str]) -> tuple[float, int, str]:
    environment = base_environment({"AWS_EC2_METADATA_DISABLED": "true"})
    started = time.perf_counter()
    code, _, err = await run_timed(command, environment=environment, timeout_s=300)
    return time.perf_counter() - started, code, err


async def run(context: Context) -> list[Figure]:
    stacks = context.pick(("dev", "staging", "prod"), ("dev",))
    rounds = context.pick(2, 1)
    python = context.bench_python
    overrides = [f"--config={key}={path}" for key, path in stand_in_archives(context.workdir).items()]
    walls: dict[str, list[float]] = {stack: [] for stack in stacks}
    together: list[float] = []
    splits: dict[str, list[dict[str, float]]] = {stack: [] for stack in stacks}
    floor: list[float] = []
    # The first run after a dependency change builds the pack's and the program's virtualenvs (once, cached
    # outside the project): done before the clock starts, so every figure is a run with them in place.
    progress("gate: preparing the packs' environments (not timed)")
    report = context.workdir / "gate-report.json"
    warm_up = [python, "-m", "offline.gate", "--stack", stacks[-1], *PROJECT_PACKS, *overrides, "--json", str(report)]
    _, code, err = await _timed(warm_up)
    if code not in (0, 1):
        raise GateError(f"the gate for {stacks[-1]} exited {code}: {err[-800:]}")
    sdk_floor = sdk_floor_code(registered_types(report))
    sdk_floors: list[float] = []
    both_packs: list[float] = []
    for index in bounded(rounds, context.pick(240.0, 60.0)):
        seconds, code, err = await _timed([python, "-c", "import pulumi, pulumi_aws"])
        if code != 0:
            raise GateError(f"importing the Pulumi SDK failed: {err[-600:]}")
        floor.append(seconds)
        seconds, code, err = await _timed([python, "-c", sdk_floor])
        if code != 0:
            raise GateError(f"loading the program's SDK classes failed: {err[-600:]}")
        sdk_floors.append(seconds)
        for stack in stacks:
            progress(f"gate: {stack} (round {index + 1}/{rounds})")
            seconds, code, err = await _timed([python, "-m", "offline.gate", "--stack", stack, *overrides])
            if code not in (0, 1):  # 1 is a verdict (mandatory violations), 2 means it could not run
                raise GateError(f"the gate for {stack} exited {code}: {err[-800:]}")
            walls[stack].append(seconds)
            found = SPLIT.search(err)
            if found:
                total, program, pack, analysis = (float(value) for value in found.groups())
                splits[stack].append({"total": total, "program": program, "pack_start": pack, "analysis": analysis})
        progress(f"gate: {stacks[-1]} on both packs (round {index + 1}/{rounds})")
        seconds, code, err = await _timed(
            [python, "-m", "offline.gate", "--stack", stacks[-1], *PROJECT_PACKS, *overrides]
        )
        if code not in (0, 1):
            raise GateError(f"the gate for {stacks[-1]} on both packs exited {code}: {err[-800:]}")
        both_packs.append(seconds)
        if len(stacks) > 1:
            progress(f"gate: {' + '.join(stacks)} in one run (round {index + 1}/{rounds})")
            every = [argument for stack in stacks for argument in ("--stack", stack)]
            seconds, code, err = await _timed([python, "-m", "offline.gate", *every, *overrides])
            if code not in (0, 1):
                raise GateError(f"the gate for {', '.join(stacks)} exited {code}: {err[-800:]}")
            together.append(seconds)
    figures = [
        latency_figure(
            GROUP,
            f"offline gate --stack {stack}",
            walls[stack],
            unit="s",
            baseline=("import pulumi, pulumi_aws", floor),
            target=GATE_ONE_STACK,
            details={"reported_split_s": splits[stack]},
        )
        for stack in stacks
    ]
    figures.append(
        latency_figure(
            GROUP,
            f"  SDK floor: the provider classes of {stacks[-1]}'s resource types, loaded",
            sdk_floors,
            unit="s",
            baseline=("import pulumi, pulumi_aws", floor),
            details={"resource_types": registered_types(report)},
        )
    )
    figures.append(
        latency_figure(
            GROUP,
            f"offline gate --stack {stacks[-1]}, main and Checkov packs in one report",
            both_packs,
            unit="s",
            baseline=(f"the main pack alone, {stacks[-1]}", walls[stacks[-1]]),
            target=GATE_BOTH_PACKS,
        )
    )
    if together:
        figures.append(
            latency_figure(
                GROUP,
                f"offline gate, {' + '.join(stacks)} in one run",
                together,
                unit="s",
                baseline=("import pulumi, pulumi_aws", floor),
                target=GATE_ALL_STACKS,
            )
        )
    return figures
