"""Naming: every resource is named ``serverless-infra-{env}-{resource-type}[-qualifier]``.

The pattern is the pack's configuration (its default is the one the program names resources with,
from :mod:`contract.naming`). The URN name is checked for every resource; the physical name too
where the input is a plain name (RDS identifiers, buckets, functions, queues, topics, roles).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pulumi_policy import Severity

from contract.naming import NAME_PATTERN
from policies.rules import Check, Control, Kind, Resource, resource_policy

PHYSICAL_NAME_INPUTS = {
    "aws:rds/instance:Instance": "identifier",
    "aws:s3/bucket:Bucket": "bucket",
    "aws:s3/bucketV2:BucketV2": "bucket",
    "aws:lambda/function:Function": "name",
    "aws:sqs/queue:Queue": "name",
    "aws:sns/topic:Topic": "name",
    "aws:iam/role:Role": "name",
}

RESOURCE_NAMING = Control(
    name="resource-naming",
    concern="naming",
    kind=Kind.NAMING,
    description="Resources are named serverless-infra-{env}-{resource-type}[-qualifier].",
    severity=Severity.LOW,
    remediation="Name the resource with the program's Namer (contract.naming.resource_name).",
    resource_types=("*",),
    config={
        "pattern": {
            "type": "string",
            "format": "regex",
            "minLength": 1,
            "description": "Regular expression every resource name must match in full.",
            "default": NAME_PATTERN.pattern,
        }
    },
)


def _naming(control: Control, r: Resource) -> Iterator[str]:
    if r.type.startswith("pulumi:"):
        return
    pattern = re.compile(control.setting(r.config, "pattern"))
    if not pattern.fullmatch(r.name):
        yield "the resource name does not follow the naming pattern"
    key = PHYSICAL_NAME_INPUTS.get(r.type)
    physical = r.get(key) if key else None
    if isinstance(physical, str) and not pattern.fullmatch(physical):
        yield f"the physical name ({key}) does not follow the naming pattern"


CHECKS: list[Check] = [resource_policy(RESOURCE_NAMING, _naming)]
