"""A program needing only the pulumi SDK: the same code gated under each Python toolchain."""

import pulumi


class Queue(pulumi.ComponentResource):
    def __init__(self, name: str) -> None:
        super().__init__("corpus:messaging:Queue", name)
        self.queue = pulumi.CustomResource(
            "aws:sqs/queue:Queue",
            f"{name}-queue",
            {"name": f"corpus-{name}", "sqsManagedSseEnabled": True, "messageRetentionSeconds": 1209600},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({})


pulumi.export("queue", Queue("orders").queue.urn)
