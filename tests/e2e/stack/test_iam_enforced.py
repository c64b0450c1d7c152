"""The local stack holds each function to its declared role: what the role does not allow is AccessDenied.

The functions call AWS through the same checker (``LocalStack.iam``) with their role's credentials;
these tests make the calls a function of that role would make, through that checker.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.e2e.target import Target


@pytest.fixture
def local(target: Target):
    if target.stack is None or target.stack.iam is None:
        pytest.skip("a deployed stack is checked by AWS itself; this checks the local stack's enforcement")
    return target.stack


def _parameter_names(stack, category: str) -> list[str]:
    return [p.name for p in stack.blueprint.parameters if f"/{category}/" in p.name][:10]  # GetParameters takes 10


def test_given_the_dlq_analyzers_role_when_it_reads_database_parameters_then_access_is_denied(local):
    role = local.blueprint.function("dlq-analyzer").role_name
    ssm = local.iam.client(role, "ssm")
    with pytest.raises(ClientError) as denied:
        ssm.get_parameters(Names=_parameter_names(local, "database"), WithDecryption=True)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"


def test_given_the_api_role_when_it_reads_its_own_parameters_then_they_are_returned(local):
    role = local.blueprint.function("api").role_name
    ssm = local.iam.client(role, "ssm")
    answer = ssm.get_parameters(Names=_parameter_names(local, "api"), WithDecryption=True)  # as orders.config asks
    assert answer["Parameters"]
    assert answer["InvalidParameters"] == []


def test_given_the_api_role_when_it_receives_from_the_orders_queue_then_access_is_denied(local):
    role = local.blueprint.function("api").role_name
    queue = local.resources.queue
    with pytest.raises(ClientError) as denied:
        local.iam.client(role, "sqs").receive_message(QueueUrl=queue.url, MaxNumberOfMessages=1)
    assert denied.value.response["Error"]["Code"] in {"AccessDenied", "AccessDeniedException"}
