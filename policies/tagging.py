"""Tagging: every taggable resource carries the required tags, each non-empty, in its own inputs.

Provider ``default_tags`` are applied after policies run during preview (and never offline), so
tags must be in each resource's inputs. Which types accept tags is data here: a taggable resource
that omits ``tags`` altogether is caught too, not only one with an incomplete map.
"""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import Severity

from contract.naming import REQUIRED_TAG_KEYS
from policies.rules import MISSING, UNKNOWN, Check, Control, Kind, Resource, get, resource_policy

TAGGABLE_TYPES = (
    "aws:acm/certificate:Certificate",
    "aws:apigateway/apiKey:ApiKey",
    "aws:apigateway/domainName:DomainName",
    "aws:apigateway/restApi:RestApi",
    "aws:apigateway/stage:Stage",
    "aws:apigateway/usagePlan:UsagePlan",
    "aws:budgets/budget:Budget",
    "aws:cfg/rule:Rule",
    "aws:cloudwatch/eventRule:EventRule",
    "aws:cloudwatch/compositeAlarm:CompositeAlarm",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
    "aws:ec2/eip:Eip",
    "aws:ec2/flowLog:FlowLog",
    "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/natGateway:NatGateway",
    "aws:ec2/routeTable:RouteTable",
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/subnet:Subnet",
    "aws:ec2/vpc:Vpc",
    "aws:ec2/vpcEndpoint:VpcEndpoint",
    "aws:iam/policy:Policy",
    "aws:iam/role:Role",
    "aws:kms/key:Key",
    "aws:lambda/eventSourceMapping:EventSourceMapping",
    "aws:lambda/function:Function",
    "aws:rds/instance:Instance",
    "aws:rds/parameterGroup:ParameterGroup",
    "aws:rds/proxy:Proxy",
    "aws:rds/subnetGroup:SubnetGroup",
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketObjectv2:BucketObjectv2",
    "aws:s3/bucketV2:BucketV2",
    "aws:secretsmanager/secret:Secret",
    "aws:sns/topic:Topic",
    "aws:sqs/queue:Queue",
    "aws:ssm/parameter:Parameter",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:xray/samplingRule:SamplingRule",
)

REQUIRED_TAGS = Control(
    name="required-tags",
    concern="tagging",
    kind=Kind.TAGGING,
    description="Taggable resources carry every required tag with a non-empty value.",
    severity=Severity.MEDIUM,
    remediation="Set the tags in the resource's own inputs (the program's stack transformation does this for every "
    "taggable type); provider default_tags are not seen by the policy check.",
    resource_types=("*",),
    config={
        "requiredTags": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "minItems": 1,
            "uniqueItems": True,
            "description": "Tag keys every taggable resource must carry.",
            "default": list(REQUIRED_TAG_KEYS),
        }
    },
)


def _required_tags(control: Control, r: Resource) -> Iterator[str]:
    tags = r.get("tags")
    if r.type not in TAGGABLE_TYPES and tags is MISSING:
        return
    if tags is UNKNOWN:
        yield "the tags are not known during preview, so the required tags cannot be verified"
        return
    for key in control.setting(r.config, "requiredTags"):
        value = get(tags, key)
        if value is MISSING:
            yield f"tag {key} is missing"
        elif value is not UNKNOWN and (not isinstance(value, str) or not value.strip()):
            yield f"tag {key} is empty"


CHECKS: list[Check] = [resource_policy(REQUIRED_TAGS, _required_tags)]
