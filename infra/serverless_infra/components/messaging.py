"""The asynchronous path: the orders queue and its dead-letter queue, both KMS-encrypted and TLS-only."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from serverless_infra.iam import document
from serverless_infra.naming import Namer
from serverless_infra.settings import QueueSettings

DAY_S = 86_400


@dataclass(frozen=True)
class MessagingArgs:
    namer: Namer
    settings: QueueSettings
    key_arn: pulumi.Input[str]


class Messaging(pulumi.ComponentResource):
    """Orders queue → (after maxReceiveCount failures) dead-letter queue."""

    def __init__(self, name: str, args: MessagingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-infra:index:Messaging", name, None, opts)
        namer, settings = args.namer, args.settings
        child = pulumi.ResourceOptions(parent=self)
        self.dead_letter_queue = aws.sqs.Queue(
            namer.name("queue", "orders-dlq"),
            name=namer.name("queue", "orders-dlq"),
            # The DLQ analyzer peeks (receives without deleting): a message it received stays hidden for
            # its whole run, so one run never counts a message twice.
            visibility_timeout_seconds=settings.dlq_visibility_timeout_s,
            message_retention_seconds=settings.dlq_retention_days * DAY_S,
            kms_master_key_id=args.key_arn,
            kms_data_key_reuse_period_seconds=300,
            opts=child,
        )
        self.queue = aws.sqs.Queue(
            namer.name("queue", "orders"),
            name=namer.name("queue", "orders"),
            visibility_timeout_seconds=settings.visibility_timeout_s,
            message_retention_seconds=settings.retention_days * DAY_S,
            receive_wait_time_seconds=20,  # long polling: fewer empty receives, lower cost
            kms_master_key_id=args.key_arn,
            kms_data_key_reuse_period_seconds=300,
            redrive_policy=self.dead_letter_queue.arn.apply(
                lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": settings.max_receive_count})
            ),
            opts=child,
        )
        aws.sqs.RedriveAllowPolicy(
            namer.name("queue-redrive-allow", "orders-dlq"),
            queue_url=self.dead_letter_queue.url,
            redrive_allow_policy=self.queue.arn.apply(
                lambda arn: json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [arn]})
            ),
            opts=child,
        )
        for queue, qualifier in ((self.queue, "orders"), (self.dead_letter_queue, "orders-dlq")):
            aws.sqs.QueuePolicy(
                namer.name("queue-policy", qualifier),
                queue_url=queue.url,
                policy=document(
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "sqs:*",
                        "Resource": queue.arn,
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ),
                opts=child,
            )
        self.register_outputs({"queueUrl": self.queue.url, "deadLetterQueueUrl": self.dead_letter_queue.url})
