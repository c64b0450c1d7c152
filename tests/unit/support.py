"""Helpers that read what a program registered: shared by the unit test modules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pulumi.runtime import rpc

from offline.harness import ProgramRun
from offline.mocks import ResourceRecord

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STACKS = ("dev", "staging", "prod")
CA_BUNDLE_IN_LAYER = "python/certs/rds-global-bundle.pem"  # where offline/package.py puts the RDS CA bundle
NAMESPACE = "serverless-infra"

POLICY_INPUTS = {
    "aws:kms/key:Key": "policy",
    "aws:iam/role:Role": "assumeRolePolicy",
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
}


def plain(value: Any) -> Any:
    """An input value with any secret wrapper removed."""
    return rpc.unwrap_rpc_secret(value)


def is_secret(value: Any) -> bool:
    return rpc.is_rpc_secret(value)


def policy_documents(run: ProgramRun) -> Iterator[tuple[ResourceRecord, dict[str, Any]]]:
    """Every IAM-style policy document the program registers, parsed."""
    for record in run.resources:
        key = POLICY_INPUTS.get(record.type)
        if key and key in record.inputs:
            yield record, json.loads(plain(record.inputs[key]))


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def resource_by_id(run: ProgramRun, resource_id: str) -> ResourceRecord:
    """The resource whose mock id (what other resources' inputs refer to) is ``resource_id``."""
    for record in run.resources:
        if record.id == resource_id:
            return record
    raise KeyError(resource_id)


def arn_of(run: ProgramRun, type_token: str, name: str) -> str:
    return str(run.named(type_token, name).outputs["arn"])
