"""Compose the components of one stack from its settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi

from contract.parameters import Category
from serverless_infra.account import availability_zones, current_account
from serverless_infra.components.api import Api, ApiArgs
from serverless_infra.components.artifacts import Artifacts, ArtifactsArgs
from serverless_infra.components.compliance import Compliance, ComplianceArgs
from serverless_infra.components.database import Database, DatabaseArgs
from serverless_infra.components.functions import Functions, FunctionsArgs
from serverless_infra.components.keys import KeyPurpose, Keys, KeysArgs, purpose_of
from serverless_infra.components.messaging import Messaging, MessagingArgs
from serverless_infra.components.network import Network, NetworkArgs
from serverless_infra.components.observability import Observability, ObservabilityArgs
from serverless_infra.components.parameters import Parameters, ParametersArgs
from serverless_infra.naming import Namer, required_tags, tagging_transformation
from serverless_infra.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""Where Pulumi.yaml lives; relative artifact paths in config are relative to it."""


@dataclass(frozen=True)
class Stack:
    """The composed components, for exports (and for later components to build on)."""

    settings: Settings
    keys: Keys
    network: Network
    database: Database
    parameters: Parameters
    artifacts: Artifacts
    messaging: Messaging
    functions: Functions
    api: Api
    observability: Observability
    compliance: Compliance


def build(settings: Settings) -> Stack:
    pulumi.runtime.register_stack_transformation(tagging_transformation(required_tags(settings)))
    namer = Namer(settings.environment)
    account = current_account(settings.region)

    keys = Keys(
        namer.name("keys"),
        KeysArgs(
            namer,
            account,
            deletion_window_days=settings.key_deletion_window_days,
            config_delivery=settings.observability.config_recorder,
            operator_role_arn=settings.operator_role_arn,
        ),
    )
    network = Network(
        namer.name("network"),
        NetworkArgs(
            namer=namer,
            settings=settings.network,
            account=account,
            availability_zones=availability_zones(),
            logs_key_arn=keys.arn(KeyPurpose.LOGS),
            log_retention_days=settings.log_retention_days,
            database_proxy=settings.database.proxy,
        ),
    )
    database = Database(
        namer.name("database"),
        DatabaseArgs(
            namer=namer,
            settings=settings.database,
            subnet_ids=[subnet.id for subnet in network.database_subnets],
            security_group_id=network.database_security_group.id,
            key_arn=keys.arn(KeyPurpose.DATABASE),
            logs_key_arn=keys.arn(KeyPurpose.LOGS),
            log_retention_days=settings.log_retention_days,
            account=account,
            proxy_security_group_id=(
                network.proxy_security_group.id if network.proxy_security_group is not None else None
            ),
        ),
    )
    parameters = Parameters(
        namer.name("parameters"),
        ParametersArgs(
            namer=namer,
            prefix=settings.parameter_prefix,
            environment=settings.environment,
            key_arns={category: keys.arn(purpose_of(category)) for category in Category},
            values=parameter_values(settings, database),
        ),
    )
    artifacts = Artifacts(
        namer.name("artifacts"),
        ArtifactsArgs(
            namer=namer,
            settings=settings.artifacts,
            key_arn=keys.arn(KeyPurpose.ARTIFACTS),
            account_id=account.account_id,
            allow_config_delivery=settings.observability.config_recorder,
        ),
    )
    messaging = Messaging(
        namer.name("messaging"),
        MessagingArgs(namer=namer, settings=settings.queue, key_arn=keys.arn(KeyPurpose.MESSAGING)),
    )
    functions = Functions(
        namer.name("functions"),
        FunctionsArgs(
            namer=namer,
            settings=settings,
            account=account,
            project_root=PROJECT_ROOT,
            subnet_ids=[subnet.id for subnet in network.application_subnets],
            security_group_id=network.function_security_group.id,
            parking_security_group_id=network.default_security_group.id,
            keys=keys,
            parameter_paths=parameters.paths,
            messaging=messaging,
            database=database,
            artifacts=artifacts,
        ),
    )
    # The migrator reaches Secrets Manager and SSM through the endpoints, the primary through the
    # security group rules, with the secret version and parameters in place: it waits for all of them.
    functions.run_migrations(depends_on=[network, database, parameters])
    api = Api(
        namer.name("api"),
        ApiArgs(
            namer=namer,
            settings=settings.gateway,
            account=account,
            function_name=functions.functions["api"].name,
            alias_name=functions.aliases["api"].name,
            alias_invoke_arn=functions.aliases["api"].invoke_arn,
            logs_key_arn=keys.arn(KeyPurpose.LOGS),
            log_retention_days=settings.log_retention_days,
            manage_account_settings=settings.manage_api_gateway_account,
        ),
    )
    observability = Observability(
        namer.name("observability"),
        ObservabilityArgs(
            namer=namer,
            settings=settings.observability,
            account=account,
            key_arn=keys.arn(KeyPurpose.MESSAGING),
            api_name=api.rest_api.name,
            api_stage=api.stage.stage_name,
            function_names={key: fn.name for key, fn in functions.functions.items()},
            queue_name=messaging.queue.name,
            dead_letter_queue_name=messaging.dead_letter_queue.name,
            primary_identifier=database.primary.identifier,
            primary_arn=database.primary.arn,
            replica_identifiers=[replica.identifier for replica in database.replicas],
            environment=settings.environment,
        ),
    )
    compliance = Compliance(
        namer.name("compliance"),
        ComplianceArgs(
            namer=namer,
            account=account,
            log_retention_days=settings.log_retention_days,
            backup_retention_days=settings.database.backup_retention_days,
            create_recorder=settings.observability.config_recorder,
            recorder_exists=settings.observability.config_recorder_exists,
            delivery_bucket=artifacts.bucket.bucket,
            delivery_bucket_arn=artifacts.bucket.arn,
            delivery_key_arn=keys.arn(KeyPurpose.ARTIFACTS),
        ),
    )
    return Stack(
        settings, keys, network, database, parameters, artifacts, messaging, functions, api, observability, compliance
    )


def parameter_values(settings: Settings, database: Database) -> dict[str, pulumi.Input[str]]:
    """Values of the non-generated parameters, keyed "category/name" as in contract.parameters."""
    db, api, cache = settings.database, settings.api, settings.cache
    return {
        "database/writer_host": database.writer_address,
        "database/reader_host": database.reader_address,
        "database/port": database.port.apply(str),
        "database/name": db.name,
        "database/writer_user": db.writer_user,
        "database/reader_user": db.reader_user,
        "database/iam_auth": str(db.iam_auth).lower(),
        "database/statement_timeout_ms": str(db.statement_timeout_ms),
        "database/connect_timeout_s": str(db.connect_timeout_s),
        "api/default_page_size": str(api.default_page_size),
        "api/max_page_size": str(api.max_page_size),
        "api/max_batch_orders": str(api.max_batch_orders),
        "cache/parameters_max_age_s": str(cache.parameters_max_age_s),
        "cache/idempotency_ttl_s": str(cache.idempotency_ttl_s),
        "cache/iam_token_refresh_margin_s": str(cache.iam_token_refresh_margin_s),
    }


def export_outputs(stack: Stack) -> None:
    pulumi.export("vpcId", stack.network.vpc.id)
    pulumi.export("applicationSubnetIds", [s.id for s in stack.network.application_subnets])
    pulumi.export("databaseSubnetIds", [s.id for s in stack.network.database_subnets])
    pulumi.export("functionSecurityGroupId", stack.network.function_security_group.id)
    pulumi.export("databaseWriterEndpoint", stack.database.primary_address)
    pulumi.export("databaseReaderEndpoint", stack.database.replica_address)
    pulumi.export("databaseMasterSecretArn", stack.database.master_secret_arn)
    pulumi.export("parameterPrefix", f"/{stack.settings.parameter_prefix}/{stack.settings.environment}/")
    pulumi.export("keyAliases", {purpose.value: alias.name for purpose, alias in stack.keys.aliases.items()})
    pulumi.export("artifactBucket", stack.artifacts.bucket.bucket)
    pulumi.export("apiUrl", stack.api.url)
    pulumi.export("apiKeyId", stack.api.api_key.id)
    pulumi.export("apiKey", pulumi.Output.secret(stack.api.api_key.value))
    pulumi.export("functionNames", {key: fn.name for key, fn in stack.functions.functions.items()})
    pulumi.export("functionAliases", {key: alias.arn for key, alias in stack.functions.aliases.items()})
    pulumi.export("queueUrl", stack.messaging.queue.url)
    pulumi.export("deadLetterQueueUrl", stack.messaging.dead_letter_queue.url)
    pulumi.export("dashboardName", stack.observability.dashboard.dashboard_name)
    pulumi.export("alarmTopicArn", stack.observability.topic.arn)
