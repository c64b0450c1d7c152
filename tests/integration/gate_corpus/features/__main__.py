"""Components, a remote (multi-language) component, resource references, a dynamic provider,
stack references, secrets, assets and archives, and invokes whose every field is read."""

import json

import pulumi
import pulumi_aws as aws
from pulumi.dynamic import CreateResult, Resource, ResourceProvider

config = pulumi.Config()


def every_field(result: object) -> dict[str, object]:
    """Read each property of an invoke's result, as a program might; none may be missing."""
    cls = type(result)
    return {name: getattr(result, name) for name in dir(cls) if isinstance(getattr(cls, name), property)}


# -- invokes ---------------------------------------------------------------------------------------
ami = aws.ec2.get_ami(most_recent=True, owners=["amazon"], filters=[{"name": "name", "values": ["al2023-ami-*-arm64"]}])
ami_fields = every_field(ami)
assert ami.id.startswith("ami-"), ami.id
assert ami.block_device_mappings[0].device_name, ami.block_device_mappings
assert ami.owners == ["amazon"]
zone = aws.route53.get_zone(name="example.com")
zone_fields = every_field(zone)
assert zone.name == "example.com", zone.name
assert zone.zone_id.startswith("Z"), zone.zone_id
assert zone.name_servers[0]
document = aws.iam.get_policy_document(
    statements=[
        {
            "sid": "ReadSite",
            "actions": ["s3:GetObject"],
            "resources": ["arn:aws:s3:::site/*"],
            "principals": [{"type": "Service", "identifiers": ["cloudfront.amazonaws.com"]}],
        }
    ]
)
policy = json.loads(document.json)
assert policy["Statement"][0] == {
    "Sid": "ReadSite",
    "Effect": "Allow",
    "Action": "s3:GetObject",
    "Resource": "arn:aws:s3:::site/*",
    "Principal": {"Service": "cloudfront.amazonaws.com"},
}, policy
assert None not in every_field(aws.get_caller_identity()).values()
azs = aws.get_availability_zones(state="available")
subnets = aws.ec2.get_subnets(filters=[{"name": "vpc-id", "values": ["vpc-123"]}])
assert subnets.ids[0].startswith("subnet-"), subnets.ids


# -- a component implemented here (awsx-style) and a remote one ------------------------------------
class StaticSite(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("corpus:web:StaticSite", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.BucketV2(f"{name}-bucket", tags={"Site": name}, opts=child)
        aws.s3.BucketVersioningV2(
            f"{name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=child,
        )
        # assets: a file from the project and an inline string
        aws.s3.BucketObjectv2(
            f"{name}-index",
            bucket=self.bucket.id,
            key="index.html",
            source=pulumi.FileAsset("data/index.html"),
            opts=child,
        )
        aws.s3.BucketObjectv2(
            f"{name}-robots",
            bucket=self.bucket.id,
            key="robots.txt",
            source=pulumi.StringAsset("User-agent: *\n"),
            opts=child,
        )
        self.register_outputs({"bucketName": self.bucket.bucket})


site = StaticSite("site")
remote = pulumi.ComponentResource("awsx:ec2:Vpc", "network", {"cidrBlock": "10.0.0.0/16", "subnets": None}, remote=True)

# -- resource references: resources passed as inputs -------------------------------------------
role = aws.iam.Role(
    "fn-role",
    assume_role_policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}
            ],
        }
    ),
)
function = aws.lambda_.Function(
    "fn",
    role=role.arn,
    runtime="python3.12",
    handler="index.handler",
    code=pulumi.AssetArchive({"index.py": pulumi.StringAsset("def handler(event, context):\n    return 1\n")}),
    environment={"variables": {"TOKEN": config.require_secret("apiToken")}},
)
aws.lambda_.Permission("fn-invoke", action="lambda:InvokeFunction", function=function, principal="s3.amazonaws.com")
aws.iam.RolePolicyAttachment(
    "fn-logs", role=role, policy_arn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
)


# -- a dynamic provider --------------------------------------------------------------------------
class Counter(ResourceProvider):
    def create(self, props: dict) -> CreateResult:
        return CreateResult(id_="counter-1", outs={"start": props["start"], "value": props["start"] + 1})


class CounterResource(Resource):
    value: pulumi.Output[int]

    def __init__(self, name: str, start: int) -> None:
        super().__init__(Counter(), name, {"start": start, "value": None})


counter = CounterResource("counter", 41)

# -- stack references and secrets --------------------------------------------------------------
network = pulumi.StackReference("organization/network/test")
pulumi.export("sharedVpcId", network.get_output("vpcId"))
pulumi.export("token", config.require_secret("apiToken"))
pulumi.export("derivedSecret", pulumi.Output.secret("s3cr3t").apply(lambda value: value.upper()))
pulumi.export("site", site.bucket.bucket)
pulumi.export("amiArchitecture", ami.architecture)
pulumi.export("zoneId", zone.zone_id)
pulumi.export("azCount", len(azs.names))
pulumi.export("counter", counter.value)
pulumi.export("remote", remote.urn)
