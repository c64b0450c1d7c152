"""A role an AWS service assumes to act for the stack, with its one inline policy.

Flow logs, API Gateway's logging, AWS Config and RDS Proxy each get such a role: trusted by the
service for this account only (``assume_role_policy``), named ``role-<qualifier>``, its grants in
``role-policy-<qualifier>``. Whatever uses the role should depend on ``policy``: IAM creates the two
separately, and a service that assumes the role before its policy exists fails its first call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from serverless_infra.iam import AccountContext, assume_role_policy, document
from serverless_infra.naming import Namer


@dataclass(frozen=True)
class ServiceRole:
    role: aws.iam.Role
    policy: aws.iam.RolePolicy


def service_role(
    namer: Namer,
    qualifier: str,
    *,
    service: str,
    account: AccountContext,
    description: str,
    statements: tuple[Mapping[str, Any], ...],
    parent: pulumi.Resource,
) -> ServiceRole:
    """Create ``role-<qualifier>`` trusted by ``service`` and its inline policy of ``statements``."""
    child = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(
        namer.name("role", qualifier),
        name=namer.name("role", qualifier),
        description=description,
        assume_role_policy=assume_role_policy(service, account),
        opts=child,
    )
    policy = aws.iam.RolePolicy(
        namer.name("role-policy", qualifier), role=role.id, policy=document(*statements), opts=child
    )
    return ServiceRole(role, policy)
