"""Facts about the target account, answered by the AWS provider at run time (and by the mocks offline)."""

from __future__ import annotations

import pulumi_aws as aws

from serverless_infra.iam import AccountContext


def current_account(region: str) -> AccountContext:
    """Account id, partition and the deploying principal's IAM ARN.

    The deployer is the *issuer* of the current session (a role, not its temporary session ARN),
    because that is what ``aws:PrincipalArn`` matches in key policies.
    """
    identity = aws.get_caller_identity()
    partition = aws.get_partition().partition
    issuer = aws.iam.get_session_context(arn=identity.arn).issuer_arn
    return AccountContext(account_id=identity.account_id, partition=partition, region=region, deployer_arn=issuer)


def availability_zones() -> tuple[str, ...]:
    """Zones of the region that need no opt-in, in name order."""
    zones = aws.get_availability_zones(
        state="available", filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}]
    )
    return tuple(sorted(zones.names))
