"""Lambda's context object for calling a handler in-process (the integration tests, the benchmarks).

Through the local stack, awslambdaric builds the real one; a direct call needs these attributes,
which are the ones powertools and the handlers read.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LambdaContext:
    """The attributes powertools and the handlers read from Lambda's context object."""

    function_name: str = "serverless-infra-dev-function-api"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:serverless-infra-dev-function-api:live"
    aws_request_id: str = "in-process-request"
    remaining_ms: int = 10_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms
