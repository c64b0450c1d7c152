"""RDS instances: patched, logged, monitored, and with snapshots that keep their tags.

Read replicas are judged like their source (they run the same engine and need the same logs and
patches), except for snapshot tags: a PostgreSQL read replica keeps no automated backups, so its
data's snapshots are the primary's.
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import PolicyResource, Severity

from policies.rules import MISSING, UNKNOWN, Anchors, Check, Control, Kind, Stack, get, items, stack_policy

CONCERN = "database"
RDS_INSTANCE = "aws:rds/instance:Instance"


def engine_of(stack: Stack, instance: PolicyResource, seen: frozenset[str] = frozenset()) -> object:
    """The instance's engine, or for a read replica its source's (MISSING when neither is known)."""
    engine = get(instance.props, "engine")
    if engine is not MISSING or instance.urn in seen:
        return engine
    for source in stack.deps(instance, "replicateSourceDb", RDS_INSTANCE):
        return engine_of(stack, source, seen | {instance.urn})
    return MISSING


def is_replica(instance: PolicyResource) -> bool:
    return get(instance.props, "replicateSourceDb") is not MISSING


LOG_EXPORTS = Control(
    name="rds-log-exports",
    concern=CONCERN,
    kind=Kind.SECURITY,
    description="RDS instances publish their engine's logs to CloudWatch Logs (enabled_cloudwatch_logs_exports "
    "includes the requiredLogExports for the engine: 'postgresql' for PostgreSQL), read replicas included.",
    severity=Severity.MEDIUM,
    remediation="Set enabled_cloudwatch_logs_exports=['postgresql', 'upgrade'] (and create the "
    "/aws/rds/instance/<id>/<log> log groups first, encrypted and with retention).",
    resource_types=(RDS_INSTANCE,),
    anchors=Anchors(checkov=("CKV_AWS_129",), security_hub=("RDS.9", "RDS.36")),
    config={
        "requiredLogExports": {
            "type": "object",
            "description": "Engine → the log types every instance of that engine must export.",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "default": {"postgres": ["postgresql"]},
        }
    },
    sources=(
        "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_LogAccess.Procedural.UploadtoCloudWatch.html",
    ),
)


def _log_exports(control: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    required_by_engine = control.setting(stack.config, "requiredLogExports")
    for instance in stack.of_type(RDS_INSTANCE):
        engine = engine_of(stack, instance)
        required = required_by_engine.get(engine, []) if isinstance(engine, str) else []
        exports = get(instance.props, "enabledCloudwatchLogsExports")
        if exports is UNKNOWN:
            yield "enabledCloudwatchLogsExports is not known during preview", instance.urn
            continue
        missing = [log for log in required if log not in items(exports)]
        if missing:
            yield f"enabledCloudwatchLogsExports lacks {', '.join(missing)} (the default exports nothing)", instance.urn


MINOR_VERSION_UPGRADE = Control(
    name="rds-auto-minor-version-upgrade",
    concern=CONCERN,
    kind=Kind.SECURITY,
    description="RDS instances take minor engine versions (security fixes) automatically in the maintenance window.",
    severity=Severity.HIGH,
    remediation="Leave auto_minor_version_upgrade unset (AWS's default is true) or set it to True.",
    resource_types=(RDS_INSTANCE,),
    anchors=Anchors(checkov=("CKV_AWS_226",), security_hub=("RDS.13",)),
    sources=("https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_UpgradeDBInstance.Upgrading.html",),
)


def _minor_version_upgrade(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    for instance in stack.of_type(RDS_INSTANCE):
        value = get(instance.props, "autoMinorVersionUpgrade")
        if value is UNKNOWN:
            yield "autoMinorVersionUpgrade is not known during preview", instance.urn
        elif value is not MISSING and value is not True:
            yield (
                "autoMinorVersionUpgrade is false: minor versions (security fixes) wait for a manual upgrade",
                (instance.urn),
            )


COPY_TAGS = Control(
    name="rds-copy-tags-to-snapshot",
    concern=CONCERN,
    kind=Kind.OPERATIONAL,
    description="RDS instances copy their tags to their snapshots, so a snapshot keeps its owner, cost centre and "
    "backup class (read replicas excepted: they have no snapshots of their own).",
    severity=Severity.LOW,
    remediation="Set copy_tags_to_snapshot=True (AWS's default is false).",
    resource_types=(RDS_INSTANCE,),
    anchors=Anchors(checkov=("CKV2_AWS_60",), security_hub=("RDS.17",)),
    sources=("https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Tagging.html#USER_Tagging.CopyTags",),
)


def _copy_tags(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    for instance in stack.of_type(RDS_INSTANCE):
        value = get(instance.props, "copyTagsToSnapshot")
        if not is_replica(instance) and value is not True and value is not UNKNOWN:
            yield "copyTagsToSnapshot is not true (the default is false)", instance.urn


ENHANCED_MONITORING = Control(
    name="rds-enhanced-monitoring",
    concern=CONCERN,
    kind=Kind.OPERATIONAL,
    description=(
        "RDS instances have Enhanced Monitoring (monitoring_interval above 0 with a monitoring role). Advisory: the "
        "program relies on Performance Insights and CloudWatch metrics and sets no monitoring interval today; "
        "Enhanced Monitoring adds OS-level metrics at a CloudWatch Logs cost."
    ),
    severity=Severity.LOW,
    remediation="Set monitoring_interval (1, 5, 10, 15, 30 or 60) and monitoring_role_arn to a role trusted by "
    "monitoring.rds.amazonaws.com with the AmazonRDSEnhancedMonitoringRole policy.",
    resource_types=(RDS_INSTANCE,),
    anchors=Anchors(checkov=("CKV_AWS_118",), security_hub=("RDS.6",)),
    sources=("https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Monitoring.OS.Enabling.html",),
)


def _enhanced_monitoring(_: Control, stack: Stack) -> Iterator[tuple[str, str]]:
    for instance in stack.of_type(RDS_INSTANCE):
        interval = get(instance.props, "monitoringInterval")
        if interval is UNKNOWN:
            continue
        if not isinstance(interval, int | float) or interval <= 0:
            yield "monitoringInterval is 0 (the default): Enhanced Monitoring is off", instance.urn
        elif get(instance.props, "monitoringRoleArn") is MISSING:
            yield "monitoringInterval is set but monitoringRoleArn is not", instance.urn


CHECKS: list[Check] = [
    stack_policy(LOG_EXPORTS, _log_exports),
    stack_policy(MINOR_VERSION_UPGRADE, _minor_version_upgrade),
    stack_policy(COPY_TAGS, _copy_tags),
    stack_policy(ENHANCED_MONITORING, _enhanced_monitoring),
]
