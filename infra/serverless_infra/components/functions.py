"""The Lambda functions: a layer, and per workload a role, a log group, the function and its alias.

Each role grants exactly what its workload's code calls (``contract.workloads``) plus what Lambda
itself needs (logs, traces, VPC network interfaces). Functions run only in the private application
subnets. Code and layer deploy from the versioned artifact bucket, keyed by content hash. The API
alias keeps provisioned concurrency warm and Application Auto Scaling tracks its utilisation; the
queue worker is fed by an event source mapping with partial batch responses; the DLQ analyzer runs
on a schedule and only peeks at the dead-letter queue; the migrator runs once per deployment of new
code.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from contract import metrics
from contract.parameters import Category
from contract.runtime import LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME
from contract.workloads import (
    ALIAS,
    FUNCTION_RESOURCE_TYPE,
    QUEUE_CONSUMER_ACTIONS,
    WORKLOADS,
    DatabaseAccess,
    Workload,
)
from serverless_infra.components.artifacts import Artifacts
from serverless_infra.components.database import Database
from serverless_infra.components.keys import KeyPurpose, Keys, purpose_of
from serverless_infra.components.messaging import Messaging
from serverless_infra.iam import AccountContext, assume_role_policy, document, statement
from serverless_infra.naming import Namer
from serverless_infra.settings import DLQ_ANALYZER_TIMEOUT_S, Settings

RUNTIME = LAMBDA_RUNTIME  # python3.13: contract/runtime.py says why
ARCHITECTURE = LAMBDA_ARCHITECTURE
METRICS_NAMESPACE = metrics.NAMESPACE
CA_BUNDLE_IN_LAYER = "python/certs/rds-global-bundle.pem"
"""Where offline/package.py puts the RDS CA bundle; the functions verify-full against /opt/{this}."""
SCHEDULES = {"dlq-analyzer": "rate(5 minutes)"}
"""Workloads EventBridge invokes on a schedule (rather than an event source or a caller)."""
SNAP_START_WORKLOADS = ("api",)
"""Workloads snapStart applies to: the one a caller waits on (the others run from queues and schedules)."""
DEAD_LETTER_READ_ACTIONS = ("sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:ReceiveMessage")
"""Queue actions a workload may declare to peek at the dead-letter queue (never sqs:DeleteMessage)."""


class ArtifactMissingError(pulumi.RunError):
    """A function archive is missing: the message says which command builds it."""


@dataclass(frozen=True)
class FunctionSize:
    memory_mb: int
    timeout_s: int
    reserved_concurrency: int


@dataclass(frozen=True)
class FunctionsArgs:
    namer: Namer
    settings: Settings
    account: AccountContext
    project_root: Path
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    parking_security_group_id: pulumi.Input[str]  # swapped in on destroy so the function SG frees at once
    keys: Keys
    parameter_paths: Mapping[Category, str]
    messaging: Messaging
    database: Database
    artifacts: Artifacts  # the versioned bucket the code and layer archives deploy from


class Functions(pulumi.ComponentResource):
    """Every workload's function, wired to its queue, database, parameters and keys."""

    functions: dict[str, aws.lambda_.Function]
    aliases: dict[str, aws.lambda_.Alias]
    roles: dict[str, aws.iam.Role]
    log_groups: dict[str, aws.cloudwatch.LogGroup]

    def __init__(self, name: str, args: FunctionsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-infra:index:Functions", name, None, opts)
        self._args = args
        namer, settings = args.namer, args.settings
        code = _archive(args.project_root, settings.function_archive, "functionArchive")
        layer_archive = _archive(args.project_root, settings.layer_archive, "layerArchive")
        _check_ca_bundle(layer_archive, settings.layer_archive)
        self.code_hash = _sha256(code)
        layer_hash = _sha256(layer_archive)
        self.code_object = self._upload("function", code, self.code_hash)
        layer_object = self._upload("layer", layer_archive, layer_hash)
        self.layer = aws.lambda_.LayerVersion(
            namer.name("layer", "dependencies"),
            layer_name=namer.name("layer", "dependencies"),
            s3_bucket=layer_object.bucket,
            s3_key=layer_object.key,
            s3_object_version=layer_object.version_id,
            source_code_hash=layer_hash,
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="Third-party libraries of the functions (function/requirements.txt)",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.functions, self.aliases, self.roles, self.log_groups = {}, {}, {}, {}
        for workload in WORKLOADS:
            self._function(workload, code)
        self._provisioned_concurrency()
        self._event_sources()
        self._schedules()
        self.register_outputs({key: fn.name for key, fn in self.functions.items()})

    def _upload(self, kind: str, archive: Path, digest: str) -> aws.s3.BucketObjectv2:
        """Upload an archive to the artifact bucket under a key derived from its content.

        A new archive is a new key, so every deployed version stays addressable; the bucket is
        versioned and keeps a replaced object's noncurrent version for artifactNoncurrentVersionDays.
        """
        artifacts = self._args.artifacts
        return aws.s3.BucketObjectv2(
            self._args.namer.name("artifact", kind),
            bucket=artifacts.bucket.id,
            key=f"lambda/{kind}-{digest}.zip",
            source=pulumi.FileAsset(str(archive)),
            content_type="application/zip",
            # Versioning, encryption and the bucket policy first: the object gets a version id and SSE-KMS.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[artifacts]),
        )

    # -- one workload -------------------------------------------------------------------------
    def _function(self, workload: Workload, code: Path) -> None:
        args, namer = self._args, self._args.namer
        child = pulumi.ResourceOptions(parent=self)
        function_name = namer.name(FUNCTION_RESOURCE_TYPE, workload.key)
        log_group = aws.cloudwatch.LogGroup(
            namer.name("log-group", f"function-{workload.key}"),
            name=f"/aws/lambda/{function_name}",
            retention_in_days=args.settings.log_retention_days,
            kms_key_id=args.keys.arn(KeyPurpose.LOGS),
            opts=child,
        )
        role = aws.iam.Role(
            namer.role_name(workload),
            name=namer.role_name(workload),
            description=f"Execution role of {function_name}: {workload.description}",
            assume_role_policy=assume_role_policy("lambda.amazonaws.com", args.account),
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            namer.name("role-policy", workload.key),
            role=role.id,
            policy=document(*self._statements(workload, log_group)),
            opts=child,
        )
        size = self._size(workload)
        function = aws.lambda_.Function(
            function_name,
            name=function_name,
            description=workload.description,
            role=role.arn,
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=workload.handler,
            s3_bucket=self.code_object.bucket,
            s3_key=self.code_object.key,
            s3_object_version=self.code_object.version_id,
            source_code_hash=self.code_hash,
            layers=[self.layer.arn],
            memory_size=size.memory_mb,
            timeout=size.timeout_s,
            reserved_concurrent_executions=size.reserved_concurrency,
            publish=True,  # the alias points at the published version, which SnapStart snapshots
            snap_start=self._snap_start(workload),
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=list(args.subnet_ids), security_group_ids=[args.security_group_id]
            ),
            replace_security_groups_on_destroy=True,
            replacement_security_group_ids=[args.parking_security_group_id],
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="JSON", log_group=log_group.name, application_log_level="INFO", system_log_level="WARN"
            ),
            kms_key_arn=args.keys.arn(KeyPurpose.FUNCTIONS),
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=self._environment(workload)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, log_group]),
        )
        self.aliases[workload.key] = aws.lambda_.Alias(
            namer.name("alias", workload.key),
            name=ALIAS,
            function_name=function.name,
            function_version=function.version,
            description="The version traffic goes to",
            opts=child,
        )
        self.functions[workload.key], self.roles[workload.key], self.log_groups[workload.key] = (
            function,
            role,
            log_group,
        )

    def _snap_start(self, workload: Workload) -> aws.lambda_.FunctionSnapStartArgs | None:
        """SnapStart on published versions when the stack asks for it (snapStart).

        Lambda snapshots the initialised environment when a version is published and resumes new
        environments from it; it applies to published versions only (so ``publish=True`` and the alias
        on ``function.version``), on python3.12 and later, and never with provisioned concurrency, EFS or
        ephemeral storage above 512 MB (the settings and the pack's deployability controls refuse those).
        https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html
        https://github.com/hashicorp/terraform-provider-aws/blob/main/website/docs/r/lambda_function.html.markdown
        """
        if not self._args.settings.compute.snap_start or workload.key not in SNAP_START_WORKLOADS:
            return None
        return aws.lambda_.FunctionSnapStartArgs(apply_on="PublishedVersions")

    def _size(self, workload: Workload) -> FunctionSize:
        settings = self._args.settings
        reserved = settings.reserved_concurrency
        sizes = {
            "api": FunctionSize(settings.compute.memory_mb, settings.compute.timeout_s, reserved["api"]),
            "worker": FunctionSize(settings.worker.memory_mb, settings.worker.timeout_s, reserved["worker"]),
            "dlq-analyzer": FunctionSize(256, DLQ_ANALYZER_TIMEOUT_S, reserved["dlq-analyzer"]),
            "migrator": FunctionSize(512, settings.migrator_timeout_s, reserved["migrator"]),
        }
        return sizes[workload.key]

    def _environment(self, workload: Workload) -> dict[str, pulumi.Input[str]]:
        settings = self._args.settings
        variables: dict[str, pulumi.Input[str]] = {
            "ENVIRONMENT": settings.environment,
            "PARAMETER_PREFIX": settings.parameter_prefix,
            "POWERTOOLS_SERVICE_NAME": f"orders-{workload.key}",
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "POWERTOOLS_PARAMETERS_MAX_AGE": str(settings.cache.parameters_max_age_s),
        }
        if "sqs:SendMessage" in workload.aws_actions:
            variables["ORDERS_QUEUE_URL"] = self._args.messaging.queue.url
        if "sqs:ReceiveMessage" in workload.aws_actions:
            variables["DEAD_LETTER_QUEUE_URL"] = self._args.messaging.dead_letter_queue.url
        if workload.database_access is DatabaseAccess.MASTER:
            variables["DB_MASTER_SECRET_ARN"] = self._args.database.master_secret_arn
        return variables

    # -- least privilege ------------------------------------------------------------------------
    def _statements(self, workload: Workload, log_group: aws.cloudwatch.LogGroup) -> list[dict[str, Any]]:
        args = self._args
        account, region = args.account, args.account.region
        ec2_arn = f"arn:{account.partition}:ec2:{region}:{account.account_id}"
        statements = [
            statement(
                "WriteOwnLogs",
                ("logs:CreateLogStream", "logs:PutLogEvents"),
                [log_group.arn, pulumi.Output.concat(log_group.arn, ":log-stream:*")],
            ),
            # X-Ray and the EC2 Describe calls have no resource-level permissions: AWS requires "*".
            statement("WriteTraces", ("xray:PutTelemetryRecords", "xray:PutTraceSegments"), "*"),
            statement("DescribeNetwork", ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"), "*"),
            statement(
                "ManageOwnNetworkInterfaces",
                (
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:CreateNetworkInterface",
                    "ec2:DeleteNetworkInterface",
                    "ec2:UnassignPrivateIpAddresses",
                ),
                [f"{ec2_arn}:network-interface/*"]
                + [pulumi.Output.concat(f"{ec2_arn}:subnet/", subnet) for subnet in args.subnet_ids]
                + [pulumi.Output.concat(f"{ec2_arn}:security-group/", args.security_group_id)],
            ),
            statement(
                "DecryptOwnEnvironment",
                ("kms:Decrypt",),
                [args.keys.arn(KeyPurpose.FUNCTIONS)],
                condition={"StringEquals": {"kms:ViaService": account.service_endpoint("lambda")}},
            ),
        ]
        for action in workload.aws_actions:
            grant = _GRANTS.get(action)
            if grant is None:
                raise ValueError(f"workload {workload.key!r} declares {action}, for which no IAM grant is defined")
            statements += grant(self, workload)
        if set(workload.aws_actions) & set(DEAD_LETTER_READ_ACTIONS):
            statements.append(self._decrypt_queue("DecryptDeadLetters"))
        if workload.consumes:
            statements += self._consume(workload.consumes)
        return statements

    def _read_parameters(self, workload: Workload) -> list[dict[str, Any]]:
        args, account = self._args, self._args.account
        base = f"arn:{account.partition}:ssm:{account.region}:{account.account_id}:parameter"
        paths = [args.parameter_paths[category].rstrip("/") for category in workload.parameter_categories]
        return [
            statement(  # GetParameters by name (orders/config.py): each parameter's ARN, under the category's path
                "ReadOwnParameters", ("ssm:GetParameters",), [f"{base}{p}/*" for p in paths]
            ),
            statement(
                "DecryptOwnParameters",
                ("kms:Decrypt",),
                [args.keys.arn(purpose_of(category)) for category in workload.parameter_categories],
                condition={"StringEquals": {"kms:ViaService": account.service_endpoint("ssm")}},
            ),
        ]

    def _send_orders(self, _: Workload) -> list[dict[str, Any]]:
        args = self._args
        return [
            statement("SendOrders", ("sqs:SendMessage",), [args.messaging.queue.arn]),
            statement(
                "EncryptOrders",
                ("kms:Decrypt", "kms:GenerateDataKey"),
                [args.keys.arn(KeyPurpose.MESSAGING)],
                condition={"StringEquals": {"kms:ViaService": args.account.service_endpoint("sqs")}},
            ),
        ]

    def _consume(self, queue_name: str) -> list[dict[str, Any]]:
        args = self._args
        queue = {"orders": args.messaging.queue, "orders-dlq": args.messaging.dead_letter_queue}[queue_name]
        return [
            statement("ConsumeOwnQueue", QUEUE_CONSUMER_ACTIONS, [queue.arn]),
            self._decrypt_queue("DecryptOwnQueue"),
        ]

    def _decrypt_queue(self, sid: str) -> dict[str, Any]:
        """Reading an SSE-KMS queue needs kms:Decrypt of its key, which SQS asks for on the reader's behalf."""
        args = self._args
        return statement(
            sid,
            ("kms:Decrypt",),
            [args.keys.arn(KeyPurpose.MESSAGING)],
            condition={"StringEquals": {"kms:ViaService": args.account.service_endpoint("sqs")}},
        )

    def _connect_to_database(self, workload: Workload) -> list[dict[str, Any]]:
        """rds-db:connect as the writer and reader roles: on the proxy when there is one, else per instance.

        Through RDS Proxy the resource is the proxy's id (prx-...), not the instance's.
        https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-connecting.html
        """
        args, account = self._args, self._args.account
        db, database = args.settings.database, args.database
        base = f"arn:{account.partition}:rds-db:{account.region}:{account.account_id}:dbuser:"
        if database.proxy_resource_id is not None:
            resources = [
                pulumi.Output.concat(base, database.proxy_resource_id, "/", user)
                for user in (db.writer_user, db.reader_user)
            ]
        else:
            resources = [pulumi.Output.concat(base, database.primary.resource_id, "/", db.writer_user)]
            resources += [
                pulumi.Output.concat(base, replica.resource_id, "/", db.reader_user) for replica in database.replicas
            ]
        return [statement("ConnectAsApplicationRoles", ("rds-db:connect",), resources)]

    def _read_master_secret(self, _: Workload) -> list[dict[str, Any]]:
        args = self._args
        return [
            statement("ReadMasterSecret", ("secretsmanager:GetSecretValue",), [args.database.master_secret_arn]),
            statement(
                "DecryptMasterSecret",
                ("kms:Decrypt",),
                [args.keys.arn(KeyPurpose.DATABASE)],
                condition={"StringEquals": {"kms:ViaService": args.account.service_endpoint("secretsmanager")}},
            ),
        ]

    def _put_metrics(self, _: Workload) -> list[dict[str, Any]]:
        # PutMetricData has no resource-level permissions; the namespace condition is the scope.
        return [
            statement(
                "PutOwnMetrics",
                ("cloudwatch:PutMetricData",),
                "*",
                condition={"StringEquals": {"cloudwatch:namespace": METRICS_NAMESPACE}},
            )
        ]

    # -- scaling and event sources ---------------------------------------------------------------
    def _provisioned_concurrency(self) -> None:
        compute, namer = self._args.settings.compute, self._args.namer
        if compute.provisioned_concurrency_max == 0:
            return
        child = pulumi.ResourceOptions(parent=self)
        function, alias = self.functions["api"], self.aliases["api"]
        provisioned = aws.lambda_.ProvisionedConcurrencyConfig(
            namer.name("provisioned-concurrency", "api"),
            function_name=function.name,
            qualifier=alias.name,
            provisioned_concurrent_executions=max(compute.provisioned_concurrency_min, 1),
            skip_destroy=False,
            # The autoscaler owns the number from here on.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["provisionedConcurrentExecutions"]),
        )
        target = aws.appautoscaling.Target(
            namer.name("scaling-target", "api"),
            service_namespace="lambda",
            scalable_dimension="lambda:function:ProvisionedConcurrency",
            resource_id=pulumi.Output.concat("function:", function.name, ":", alias.name),
            min_capacity=compute.provisioned_concurrency_min,
            max_capacity=compute.provisioned_concurrency_max,
            # Registered after the alias has its provisioned concurrency, so the two never write the
            # alias's configuration at once; from then on the autoscaler owns the number.
            # https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html
            opts=pulumi.ResourceOptions(parent=self, depends_on=[provisioned]),
        )
        aws.appautoscaling.Policy(
            namer.name("scaling-policy", "api"),
            name=namer.name("scaling-policy", "api"),
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                target_value=compute.provisioned_target_utilization,
                predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type="LambdaProvisionedConcurrencyUtilization",
                ),
                scale_in_cooldown=300,
                scale_out_cooldown=30,
            ),
            opts=child,
        )

    def _event_sources(self) -> None:
        """An SQS event source mapping for each workload that consumes a queue (contract.workloads)."""
        args, namer = self._args, self._args.namer
        worker = args.settings.worker
        batching = {"orders": (worker.batch_size, worker.batching_window_s, worker.max_concurrency)}
        queues = {"orders": args.messaging.queue}
        for key, consumed in ((w.key, w.consumes) for w in WORKLOADS if w.consumes):
            queue, (batch_size, window, concurrency) = queues[consumed], batching[consumed]
            aws.lambda_.EventSourceMapping(
                namer.name("event-source", key),
                event_source_arn=queue.arn,
                function_name=self.aliases[key].arn,
                batch_size=batch_size,
                maximum_batching_window_in_seconds=window,
                function_response_types=["ReportBatchItemFailures"],
                scaling_config=aws.lambda_.EventSourceMappingScalingConfigArgs(maximum_concurrency=concurrency),
                enabled=True,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.roles[key]]),
            )

    def _schedules(self) -> None:
        """An EventBridge rule per scheduled workload, targeting its alias, allowed to invoke it."""
        namer = self._args.namer
        for key, expression in SCHEDULES.items():
            alias = self.aliases[key]
            rule = aws.cloudwatch.EventRule(
                namer.name("event-rule", key),
                name=namer.name("event-rule", key),
                description=f"Invokes {namer.name('function', key)} {expression}",
                schedule_expression=expression,
                state="ENABLED",
                opts=pulumi.ResourceOptions(parent=self),
            )
            permission = aws.lambda_.Permission(
                namer.name("permission", f"{key}-schedule"),
                action="lambda:InvokeFunction",
                function=self.functions[key].name,
                qualifier=alias.name,
                principal="events.amazonaws.com",
                source_arn=rule.arn,
                opts=pulumi.ResourceOptions(parent=self),
            )
            aws.cloudwatch.EventTarget(
                namer.name("event-target", key),
                rule=rule.name,
                target_id=key,
                arn=alias.arn,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
            )

    def run_migrations(self, depends_on: Sequence[pulumi.Resource]) -> aws.lambda_.Invocation:
        """Invoke the migrator once per code change, after everything it reaches exists.

        ``depends_on`` names what it needs beyond its function: the network (VPC endpoints, security
        group rules), the database (primary, master secret version, proxy and its target) and the
        parameters it reads.
        """
        namer = self._args.namer
        return aws.lambda_.Invocation(
            namer.name("invocation", "migrator"),
            function_name=self.functions["migrator"].name,
            qualifier=self.aliases["migrator"].name,
            input=json.dumps({"action": "migrate"}),
            triggers={"code": self.code_hash},
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(depends_on)),
        )


def _peek_dead_letters(action: str) -> Callable[[Functions, Workload], list[dict[str, Any]]]:
    """The grant of one declared dead-letter queue action, on the dead-letter queue only."""

    def grant(functions: Functions, _: Workload) -> list[dict[str, Any]]:
        queue = functions._args.messaging.dead_letter_queue
        return [statement("DeadLetterQueue" + action.split(":", 1)[1], (action,), [queue.arn])]

    return grant


_GRANTS: dict[str, Callable[[Functions, Workload], list[dict[str, Any]]]] = {
    "ssm:GetParameters": Functions._read_parameters,
    "sqs:SendMessage": Functions._send_orders,
    "rds-db:connect": Functions._connect_to_database,
    "secretsmanager:GetSecretValue": Functions._read_master_secret,
    "cloudwatch:PutMetricData": Functions._put_metrics,
    **{action: _peek_dead_letters(action) for action in DEAD_LETTER_READ_ACTIONS},
}
"""How each AWS action a workload declares is granted. A declared action missing here is an error."""


def _archive(root: Path, configured: str, key: str) -> Path:
    path = (root / configured).resolve()
    if not path.is_file():
        raise ArtifactMissingError(
            f"serverless-infra:{key}: {configured} does not exist; build it with `python3 -m nox -s package`"
        )
    return path


def _check_ca_bundle(layer: Path, configured: str) -> None:
    """The functions verify the database's certificate against the RDS CA bundle the layer carries.

    A layer built without ``--rds-ca-bundle``/``--fetch-rds-ca`` has none, and every function would
    fail TLS verify-full. ``pulumi up`` refuses it; a preview (and the offline gate) only warns, so a
    fresh clone can still preview.
    """
    with zipfile.ZipFile(layer) as archive:
        if CA_BUNDLE_IN_LAYER in archive.namelist():
            return
    message = (
        f"serverless-infra:layerArchive: {configured} has no {CA_BUNDLE_IN_LAYER}, so every function would fail "
        "TLS verify-full against RDS; rebuild it with `python -m offline.package --rds-ca-bundle PEM` "
        "(or `--fetch-rds-ca URL --rds-ca-sha256 SHA256`)"
    )
    if pulumi.runtime.is_dry_run():
        pulumi.log.warn(message)
        return
    raise ArtifactMissingError(message)


def _sha256(path: Path) -> str:
    """Base64 would match Lambda's CodeSha256; hex is enough to detect a change of archive."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
