"""Lambda runtimes: functions run on a runtime AWS still patches.

The table is AWS's (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html, supported and
deprecated runtimes, as published in July 2026). A runtime is refused from its deprecation date on: AWS stops
security patches then, blocks creating functions on it 30 days later and updating them 60 days
later. A runtime missing from the table is refused too, so a new one is added here (with its date)
before it is used: the check cannot otherwise tell a new runtime from a retired one.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Final

from pulumi_policy import Severity

from policies.rules import MISSING, UNKNOWN, Anchors, Check, Control, Kind, Resource, resource_policy

FUNCTION = "aws:lambda/function:Function"

# Runtime identifier → deprecation date (projected for supported runtimes; None when not scheduled).
DEPRECATION: Final[dict[str, datetime.date | None]] = {
    # supported (projected dates)
    "nodejs24.x": datetime.date(2028, 4, 30),
    "nodejs22.x": datetime.date(2027, 4, 30),
    "python3.14": datetime.date(2029, 6, 30),
    "python3.13": datetime.date(2029, 6, 30),
    "python3.12": datetime.date(2028, 10, 31),
    "python3.11": datetime.date(2027, 6, 30),
    "java25": datetime.date(2029, 6, 30),
    "java21": datetime.date(2029, 6, 30),
    "java17.al2023": datetime.date(2029, 6, 30),
    "java11.al2023": datetime.date(2029, 6, 30),
    "java8.al2023": datetime.date(2029, 6, 30),
    "java17": datetime.date(2027, 6, 30),
    "java11": datetime.date(2027, 6, 30),
    "java8.al2": datetime.date(2027, 6, 30),
    "dotnet10": datetime.date(2028, 11, 14),
    "ruby4.0": datetime.date(2029, 3, 31),
    "ruby3.4": datetime.date(2028, 3, 31),
    "ruby3.3": datetime.date(2027, 3, 31),
    "provided.al2023": datetime.date(2029, 6, 30),
    # deprecated
    "dotnet9": datetime.date(2026, 11, 10),
    "dotnet8": datetime.date(2026, 11, 10),
    "python3.10": datetime.date(2026, 10, 31),
    "provided.al2": datetime.date(2026, 6, 30),
    "nodejs20.x": datetime.date(2026, 4, 30),
    "ruby3.2": datetime.date(2026, 3, 31),
    "python3.9": datetime.date(2025, 12, 15),
    "nodejs18.x": datetime.date(2025, 9, 1),
    "dotnet6": datetime.date(2024, 12, 20),
    "python3.8": datetime.date(2024, 10, 14),
    "nodejs16.x": datetime.date(2024, 6, 12),
    "dotnet7": datetime.date(2024, 5, 14),
    "java8": datetime.date(2024, 1, 8),
    "go1.x": datetime.date(2024, 1, 8),
    "provided": datetime.date(2024, 1, 8),
    "ruby2.7": datetime.date(2023, 12, 7),
    "python3.7": datetime.date(2023, 12, 4),
    "nodejs14.x": datetime.date(2023, 12, 4),
    "nodejs12.x": datetime.date(2023, 3, 31),
    "python3.6": datetime.date(2022, 7, 18),
    "python2.7": datetime.date(2021, 7, 15),
}

SUPPORTED_RUNTIME = Control(
    name="lambda-supported-runtime",
    concern="runtime",
    kind=Kind.SECURITY,
    description="Lambda functions use a runtime AWS has not deprecated (from its deprecation date AWS no longer "
    "applies security patches to it).",
    severity=Severity.HIGH,
    remediation="Move the function to a supported runtime (the program sets RUNTIME in "
    "infra/serverless_infra/components/functions.py); for a runtime newer than this pack, add it with its "
    "deprecation date to policies/runtime.py.",
    resource_types=(FUNCTION,),
    anchors=Anchors(cdk_nag=("AwsSolutions-L1",), checkov=("CKV_AWS_363",), security_hub=("Lambda.2",)),
    sources=("https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html",),
)


def today() -> datetime.date:
    return datetime.datetime.now(datetime.UTC).date()


def _supported_runtime(_: Control, r: Resource) -> Iterator[str]:
    runtime = r.get("runtime")
    if runtime is MISSING:
        return  # a container image function: its runtime is in the image
    if runtime is UNKNOWN or not isinstance(runtime, str):
        yield "the runtime is not known during preview, so it cannot be shown to be supported"
        return
    if runtime not in DEPRECATION:
        yield f"runtime {runtime} is not in the pack's table of Lambda runtimes (add it with its deprecation date)"
        return
    date = DEPRECATION[runtime]
    if date is not None and date <= today():
        yield f"runtime {runtime} was deprecated on {date.isoformat()} and no longer receives security patches"


CHECKS: list[Check] = [resource_policy(SUPPORTED_RUNTIME, _supported_runtime)]
