"""A program of another shape than the blueprint: a bucket and an instance, plain or hardened.

``hardened`` off: a bucket without a public access block, an instance without encrypted volumes or
IMDSv2, a security group open to the world on SSH. On: each of those set as AWS documents it
(S3 Block Public Access: https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html;
EBS encryption: https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption.html;
IMDSv2: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-IMDS-new-instances.html).
"""

import pulumi
import pulumi_aws as aws

hardened = pulumi.Config().get_bool("hardened") or False

bucket = aws.s3.Bucket("reports", bucket="corpus-reports")
if hardened:
    aws.s3.BucketPublicAccessBlock(
        "reports-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
    )

group = aws.ec2.SecurityGroup(
    "web",
    description="web server",
    ingress=[
        aws.ec2.SecurityGroupIngressArgs(
            description="ssh",
            protocol="tcp",
            from_port=22,
            to_port=22,
            cidr_blocks=["10.0.0.0/16" if hardened else "0.0.0.0/0"],
        )
    ],
)

aws.ec2.Instance(
    "web",
    ami="ami-0123456789abcdef0",
    instance_type="t3.micro",
    vpc_security_group_ids=[group.id],
    monitoring=hardened,
    ebs_optimized=hardened,
    root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(encrypted=hardened),
    metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
        http_endpoint="enabled", http_tokens="required" if hardened else "optional"
    ),
)
