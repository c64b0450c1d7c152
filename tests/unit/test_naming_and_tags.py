"""Every resource is named serverless-infra-{env}-{type}[-qualifier] and tagged with the six tags."""

from __future__ import annotations

from contract.naming import APPLICATION, NAME_PATTERN, REQUIRED_TAG_KEYS, environment_of

# Every AWS resource type the program may register, classified by whether AWS accepts tags on it.
# A new type fails test_every_registered_type_is_classified until someone decides which it is.
TAGGABLE = {
    "aws:acm/certificate:Certificate",
    "aws:apigateway/apiKey:ApiKey",
    "aws:apigateway/domainName:DomainName",
    "aws:apigateway/restApi:RestApi",
    "aws:apigateway/stage:Stage",
    "aws:apigateway/usagePlan:UsagePlan",
    "aws:appautoscaling/target:Target",
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
    "aws:secretsmanager/secret:Secret",
    "aws:sns/topic:Topic",
    "aws:sqs/queue:Queue",
    "aws:xray/samplingRule:SamplingRule",
    "aws:ssm/parameter:Parameter",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
}
UNTAGGABLE = {
    "aws:acm/certificateValidation:CertificateValidation",
    "aws:apigateway/account:Account",
    "aws:apigateway/basePathMapping:BasePathMapping",
    "aws:apigateway/deployment:Deployment",
    "aws:apigateway/integration:Integration",
    "aws:apigateway/method:Method",
    "aws:apigateway/methodSettings:MethodSettings",
    "aws:apigateway/resource:Resource",
    "aws:apigateway/usagePlanKey:UsagePlanKey",
    "aws:appautoscaling/policy:Policy",
    "aws:cfg/deliveryChannel:DeliveryChannel",
    "aws:cfg/recorder:Recorder",
    "aws:cfg/recorderStatus:RecorderStatus",
    "aws:cloudwatch/dashboard:Dashboard",
    "aws:cloudwatch/eventTarget:EventTarget",
    "aws:ec2/route:Route",
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:kms/alias:Alias",
    "aws:lambda/alias:Alias",
    "aws:lambda/invocation:Invocation",
    "aws:lambda/layerVersion:LayerVersion",
    "aws:lambda/permission:Permission",
    "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig",
    "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup",
    "aws:rds/proxyTarget:ProxyTarget",
    "aws:route53/record:Record",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:secretsmanager/secretVersion:SecretVersion",
    "aws:sns/topicPolicy:TopicPolicy",
    "aws:sns/topicSubscription:TopicSubscription",
    "aws:sqs/queuePolicy:QueuePolicy",
    "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy",
    "random:index/randomPassword:RandomPassword",
}


def test_every_resource_has_a_canonical_name_of_its_environment(stack_run):
    wrong = [r.name for r in stack_run.resources if environment_of(r.name) != stack_run.stack]
    assert wrong == []


def test_components_are_named_like_resources(stack_run):
    components = [r for r in stack_run.resources if not r.custom]
    assert components
    assert all(NAME_PATTERN.match(c.name) for c in components)


def test_every_registered_type_is_classified(stack_run):
    custom_types = {r.type for r in stack_run.resources if r.custom}
    assert custom_types - TAGGABLE - UNTAGGABLE == set()


def test_every_taggable_resource_carries_the_required_tags(stack_run):
    missing = {
        r.name: sorted(set(REQUIRED_TAG_KEYS) - set(r.inputs.get("tags") or {}))
        for r in stack_run.resources
        if r.type in TAGGABLE and not set(REQUIRED_TAG_KEYS) <= set(r.inputs.get("tags") or {})
    }
    assert missing == {}


def test_required_tags_are_never_empty(stack_run):
    empty = [
        (r.name, key) for r in stack_run.resources for key, value in (r.inputs.get("tags") or {}).items() if not value
    ]
    assert empty == []


def test_tags_state_environment_application_and_owner_from_config(stack_run):
    config = stack_run.config.values
    expected = {
        "Environment": stack_run.stack,
        "Application": APPLICATION,
        "CostCenter": config["serverless-infra:costCenter"],
        "Owner": config["serverless-infra:owner"],
        "Compliance": config["serverless-infra:compliance"],
    }
    for record in stack_run.resources:
        if record.type in TAGGABLE:
            assert {k: record.inputs["tags"][k] for k in expected} == expected, record.name


def test_stateful_resources_state_their_backup_regime(stack_run):
    primary = stack_run.named("aws:rds/instance:Instance", f"serverless-infra-{stack_run.stack}-db-primary")
    retention = int(primary.inputs["backupRetentionPeriod"])
    assert primary.inputs["tags"]["Backup"] == f"rds-automated-{retention}d"
    bucket = stack_run.of_type("aws:s3/bucket:Bucket")[0]
    assert bucket.inputs["tags"]["Backup"].startswith("s3-versioning-")


def test_stateless_resources_say_they_need_no_backup(stack_run):
    vpc = stack_run.of_type("aws:ec2/vpc:Vpc")[0]
    assert vpc.inputs["tags"]["Backup"] == "none"


def test_a_name_tag_repeats_the_resource_name(stack_run):
    vpc = stack_run.of_type("aws:ec2/vpc:Vpc")[0]
    assert vpc.inputs["tags"]["Name"] == vpc.name


def test_physical_names_are_canonical_where_aws_lets_us_choose(stack_run):
    env = stack_run.stack
    for record in stack_run.of_type("aws:rds/instance:Instance"):
        assert environment_of(record.inputs["identifier"]) == env
    for record in stack_run.of_type("aws:ec2/securityGroup:SecurityGroup"):
        assert environment_of(record.inputs["name"]) == env
    for record in stack_run.of_type("aws:kms/alias:Alias"):
        assert environment_of(record.inputs["name"].removeprefix("alias/")) == env
    bucket = stack_run.of_type("aws:s3/bucket:Bucket")[0]
    assert environment_of(bucket.inputs["bucket"]) == env
