"""Customer-managed keys: a key this stack creates (by dependency) or one policy config lists, never an
AWS-managed key, whatever its spelling."""

from __future__ import annotations

import pytest

from policies import encryption as e
from tests.unit.policies.conftest import UNKNOWN_STRING, Finder, Resources

SQS = next(check for check in e.CHECKS if check.control.name == "sqs-queue-kms")
S3 = next(check for check in e.CHECKS if check.control.name == "s3-bucket-sse-kms")
AWS_MANAGED_ARN = "arn:aws:kms:us-east-1:123456789012:key/0b5c0e0e-1111-2222-3333-444455556666"


def test_given_a_queue_encrypted_with_a_key_of_the_stack_then_no_finding(resources: Resources, findings: Finder):
    key = resources.add(e.KMS_KEY, "key", {"arn": AWS_MANAGED_ARN})
    resources.add("aws:sqs/queue:Queue", "queue", {"kmsMasterKeyId": AWS_MANAGED_ARN}, deps={"kmsMasterKeyId": [key]})
    assert findings(SQS, resources) == []


def test_given_a_first_preview_where_the_stacks_key_arn_is_unknown_then_no_finding(resources, findings):
    key = resources.add(e.KMS_KEY, "key", {})
    resources.add("aws:sqs/queue:Queue", "queue", {"kmsMasterKeyId": UNKNOWN_STRING}, deps={"kmsMasterKeyId": [key]})
    assert findings(SQS, resources) == []


@pytest.mark.parametrize(
    "value", ["alias/aws/sqs", "arn:aws:kms:us-east-1:123456789012:alias/aws/sqs", AWS_MANAGED_ARN]
)
def test_given_a_literal_key_the_stack_does_not_create_then_it_is_refused(resources, findings, value):
    resources.add("aws:sqs/queue:Queue", "queue", {"kmsMasterKeyId": value})
    assert findings(SQS, resources) == [("kmsMasterKeyId does not name a customer-managed key", "queue")]


def test_given_a_literal_customer_managed_key_the_policy_config_lists_then_no_finding(resources, findings):
    resources.add("aws:sqs/queue:Queue", "queue", {"kmsMasterKeyId": AWS_MANAGED_ARN})
    assert findings(SQS, resources, {"customerManagedKeys": [AWS_MANAGED_ARN]}) == []


def test_given_an_aws_managed_alias_even_if_listed_then_it_is_refused(resources, findings):
    resources.add("aws:sqs/queue:Queue", "queue", {"kmsMasterKeyId": "alias/aws/sqs"})
    assert findings(SQS, resources, {"customerManagedKeys": ["alias/aws/sqs"]})


def test_given_a_bucket_whose_encryption_configuration_is_unknown_then_it_is_not_reported_unencrypted(
    resources, findings
):
    bucket = resources.add("aws:s3/bucketV2:BucketV2", "bucket", {})
    resources.add(
        e.BUCKET_SSE[0],
        "sse",
        {"rules": [{"applyServerSideEncryptionByDefault": UNKNOWN_STRING}]},
        deps={"bucket": [bucket]},
    )
    assert findings(S3, resources) == []


def test_given_a_bucket_encrypted_with_an_aws_managed_key_arn_then_it_is_refused(resources, findings):
    bucket = resources.add("aws:s3/bucketV2:BucketV2", "bucket", {})
    rule = {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": AWS_MANAGED_ARN}}
    resources.add(e.BUCKET_SSE[0], "sse", {"rules": [rule]}, deps={"bucket": [bucket]})
    assert findings(S3, resources) == [("default encryption is not SSE-KMS with a customer-managed key", "bucket")]
