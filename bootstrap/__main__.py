"""Bootstrap: the S3 bucket that holds Pulumi state and the KMS key of the secrets provider.

Run once per account with local state (`pulumi login --local`), then point the main project at
them: `pulumi login s3://<stateBucket>` and
`pulumi stack init <stack> --secrets-provider <secretsProvider>`. It reuses the main program's
naming, tagging, key policy and bucket code, so the state bucket meets the same policies.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "infra"), str(ROOT)]  # the CLI puts only bootstrap/ on sys.path

import pulumi  # noqa: E402
import pulumi_aws as aws  # noqa: E402

from contract.naming import APPLICATION, ENVIRONMENTS, REGION  # noqa: E402
from serverless_infra.account import current_account  # noqa: E402
from serverless_infra.components.artifacts import Artifacts, ArtifactsArgs  # noqa: E402
from serverless_infra.iam import KeyUsage, key_policy  # noqa: E402
from serverless_infra.naming import NOT_BACKED_UP, Namer, tagging_transformation  # noqa: E402
from serverless_infra.settings import ArtifactSettings, ConfigError, runtime_reader  # noqa: E402

if pulumi.Config("aws").get("region") != REGION:
    raise ConfigError("aws:region", f"is required and must be {REGION}")
read = runtime_reader(pulumi.get_project())
environment = read.choice("environment", ENVIRONMENTS, str)
# Principals besides the one running this program that use the backend (e.g. the CI deploy role):
# they read and write state through S3 with the state key, and call the secrets key directly.
backend_users = tuple(arn.strip() for arn in (read.get("backendUsers") or "").split(",") if arn.strip())
for arn in backend_users:
    if not arn.startswith("arn:aws:iam::"):
        raise ConfigError(read.key("backendUsers"), f"{arn!r} is not an IAM role or user ARN")
pulumi.runtime.register_stack_transformation(
    tagging_transformation(
        {
            "Environment": environment,
            "CostCenter": read.text("costCenter"),
            "Owner": read.text("owner"),
            "Application": APPLICATION,
            "Backup": NOT_BACKED_UP,
            "Compliance": read.text("compliance"),
        }
    )
)
namer = Namer(environment)
account = current_account(REGION)


def key(purpose: str, description: str, usage: KeyUsage) -> aws.kms.Key:
    created = aws.kms.Key(
        namer.name("kms-key", purpose),
        description=description,
        enable_key_rotation=True,
        rotation_period_in_days=365,
        deletion_window_in_days=30,
        policy=key_policy(account, usage),
    )
    aws.kms.Alias(namer.name("kms-alias", purpose), name=f"alias/{namer.name(purpose)}", target_key_id=created.key_id)
    return created


state_key = key(
    "state",
    "Encrypts Pulumi state objects",
    KeyUsage(via_services=("s3",), decrypting_roles=backend_users, encrypting_roles=backend_users),
)
secrets_key = key(
    "secrets",
    "The awskms:// secrets provider of the serverless-infra stacks",
    KeyUsage(via_services=(), decrypting_roles=(), direct_users=(account.deployer_arn, *backend_users)),
)
state = Artifacts(
    namer.name("state"),
    ArtifactsArgs(
        namer=namer,
        settings=ArtifactSettings(
            noncurrent_version_days=read.integer("stateNoncurrentVersionDays", 30, 3650),
            abort_incomplete_upload_days=7,
            force_destroy=False,
        ),
        key_arn=state_key.arn,
        account_id=account.account_id,
        allow_config_delivery=False,
        purpose="state",
    ),
)
pulumi.export("stateBucket", state.bucket.bucket)
pulumi.export("backendUrl", pulumi.Output.concat("s3://", state.bucket.bucket))
pulumi.export("secretsProvider", f"awskms://alias/{namer.name('secrets')}?region={REGION}")
