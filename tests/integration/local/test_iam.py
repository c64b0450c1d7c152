"""A function role held to its policies on every call, through local.iam's proxy in front of moto.

moto runs in this process (``ThreadedMotoServer``), seeded as local/aws.py seeds it: KMS keys with
key policies shaped like the program's, SecureString parameters under them, an SSE-KMS queue. The
role is shaped like the program's api role (infra/serverless_infra/components/functions.py):
parameter paths, KMS only through SSM or SQS, one queue.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from contract.parameters import DOCUMENT_NAME
from local.blueprint import KeyBlueprint, RoleBlueprint
from local.iam import IamEnforcement

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE = "serverless-infra-dev-role-api"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
WORKER_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/serverless-infra-dev-role-worker"
PARAMETERS = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:serverless-infra-dev-queue-orders"
DECLARED_DATABASE_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/b306cc48-b5cc-0282-6967-a357e6cfc48e"
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TrustedService",
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
            }
        ],
    }
)


def via(service: str) -> str:
    return f"{service}.{REGION}.amazonaws.com"


def key_policy(service: str, roles: list[str], actions: tuple[str, ...] = ("kms:Decrypt", "kms:DescribeKey")) -> str:
    """A key policy as infra/serverless_infra/iam.py writes it: named roles use the key through ``service``."""
    account = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "KeyAdministration",
                    "Effect": "Allow",
                    "Principal": account,
                    "Action": ["kms:DescribeKey", "kms:PutKeyPolicy"],
                    "Resource": "*",
                },
                {
                    "Sid": "WorkloadRolesThroughServices",
                    "Effect": "Allow",
                    "Principal": account,
                    "Action": list(actions),
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {"kms:ViaService": [via(service)], "kms:CallerAccount": ACCOUNT},
                        "ArnEquals": {"aws:PrincipalArn": roles},
                    },
                },
            ],
        }
    )


@dataclass(frozen=True)
class Seeded:
    """What the seeding made: key ARNs by purpose, the orders queue's URL."""

    keys: dict[str, str]
    queue_url: str


def role_policy(keys: dict[str, str], database_key: str | None = None) -> str:
    """The api role's policy: /database/ and /cache/ parameters, sending orders, its KMS use through services."""
    paths = ("/myapp/dev/database", "/myapp/dev/cache")
    statements: list[dict[str, Any]] = [
        {
            "Sid": "DecryptOwnEnvironment",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": [keys["functions"]],
            "Condition": {"StringEquals": {"kms:ViaService": via("lambda")}},
        },
        {
            "Sid": "ReadOwnParameters",
            "Effect": "Allow",
            "Action": ["ssm:GetParametersByPath"],
            "Resource": [f"{PARAMETERS}{p}" for p in paths] + [f"{PARAMETERS}{p}/*" for p in paths],
        },
        {
            "Sid": "DecryptOwnParameters",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": [database_key or keys["database"], keys["cache"]],
            "Condition": {"StringEquals": {"kms:ViaService": via("ssm")}},
        },
        {"Sid": "SendOrders", "Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [QUEUE_ARN]},
        {
            "Sid": "EncryptOrders",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": [keys["messaging"]],
            "Condition": {"StringEquals": {"kms:ViaService": via("sqs")}},
        },
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer("127.0.0.1", 0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def admin(moto_url: str, service: str) -> Any:
    return boto3.client(
        service, region_name=REGION, endpoint_url=moto_url, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


@pytest.fixture
def seeded(moto_url: str) -> Seeded:
    """A fresh moto: the database key names the api role, the cache key only the worker role."""
    requests.post(f"{moto_url}/moto-api/reset", timeout=10).raise_for_status()
    kms, ssm, sqs = admin(moto_url, "kms"), admin(moto_url, "ssm"), admin(moto_url, "sqs")
    policies = {
        "functions": key_policy("lambda", [ROLE_ARN]),
        "database": key_policy("ssm", [ROLE_ARN]),
        "cache": key_policy("ssm", [WORKER_ROLE_ARN]),
        "api": key_policy("ssm", [ROLE_ARN]),
        "messaging": key_policy("sqs", [ROLE_ARN], ("kms:Decrypt", "kms:GenerateDataKey")),
    }
    keys = {purpose: kms.create_key(Policy=policy)["KeyMetadata"]["Arn"] for purpose, policy in policies.items()}
    for purpose in ("database", "cache", "api"):  # each category's settings document (contract.parameters)
        ssm.put_parameter(
            Name=f"/myapp/dev/{purpose}/{DOCUMENT_NAME}",
            Value=f"{purpose}-value",
            Type="SecureString",
            KeyId=keys[purpose],
        )
    queue_url = sqs.create_queue(
        QueueName="serverless-infra-dev-queue-orders", Attributes={"KmsMasterKeyId": keys["messaging"]}
    )["QueueUrl"]
    return Seeded(keys, queue_url)


@pytest.fixture
def enforcement(moto_url: str, seeded: Seeded) -> Iterator[IamEnforcement]:
    role = RoleBlueprint(ROLE, TRUST, {"serverless-infra-dev-role-policy-api": role_policy(seeded.keys)})
    with IamEnforcement(moto_url, REGION, ACCOUNT, [role]) as running:
        yield running


def read_path(enforcement: IamEnforcement, path: str, decrypt: bool = True) -> dict[str, str]:
    ssm = enforcement.client(ROLE, "ssm")
    parameters = ssm.get_parameters_by_path(Path=path, WithDecryption=decrypt)["Parameters"]
    return {parameter["Name"]: parameter["Value"] for parameter in parameters}


def test_the_role_reads_and_decrypts_the_parameter_path_it_is_granted(enforcement):
    # GIVEN ssm:GetParametersByPath on /myapp/dev/database/* and kms:Decrypt of its key through SSM
    # WHEN the role reads the path  THEN it gets the decrypted values
    assert read_path(enforcement, "/myapp/dev/database") == {f"/myapp/dev/database/{DOCUMENT_NAME}": "database-value"}


def test_a_path_outside_the_grant_fails_with_access_denied_exception(enforcement):
    # GIVEN no grant on /myapp/dev/api  WHEN the role reads it  THEN SSM's AccessDeniedException, as on AWS
    with pytest.raises(ClientError) as denied:
        read_path(enforcement, "/myapp/dev/api")
    error = denied.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert f"ssm:GetParametersByPath on resource: {PARAMETERS}/myapp/dev/api because" in error["Message"]


def test_decrypting_a_parameter_whose_key_policy_omits_the_role_fails(enforcement, seeded):
    # GIVEN the identity grants on /myapp/dev/cache and its key, but a key policy naming only the worker role
    # WHEN the role reads the path with decryption  THEN kms:Decrypt is denied by the key policy
    with pytest.raises(ClientError) as denied:
        read_path(enforcement, "/myapp/dev/cache")
    error = denied.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert f"kms:Decrypt on resource: {seeded.keys['cache']} because no resource-based policy" in error["Message"]


def test_reading_without_decryption_needs_no_key(enforcement):
    # GIVEN the same cache path  WHEN read without decryption  THEN SSM asks KMS for nothing and it succeeds
    assert list(read_path(enforcement, "/myapp/dev/cache", decrypt=False)) == [f"/myapp/dev/cache/{DOCUMENT_NAME}"]


def test_a_direct_kms_decrypt_the_grants_allow_only_through_a_service_fails(moto_url, enforcement, seeded):
    # GIVEN a ciphertext under the database key, which the role may use through SSM only
    ciphertext = admin(moto_url, "kms").encrypt(KeyId=seeded.keys["database"], Plaintext=b"secret")["CiphertextBlob"]
    # WHEN the role calls kms:Decrypt itself  THEN AccessDeniedException
    with pytest.raises(ClientError) as denied:
        enforcement.client(ROLE, "kms").decrypt(CiphertextBlob=ciphertext)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "kms:Decrypt" in denied.value.response["Error"]["Message"]


def test_sending_to_the_encrypted_queue_uses_the_key_through_sqs(enforcement, seeded):
    # GIVEN sqs:SendMessage on the queue and the messaging key's use through SQS
    # WHEN the role sends an order  THEN it is accepted, and the key's use is recorded with the send
    enforcement.client(ROLE, "sqs").send_message(QueueUrl=seeded.queue_url, MessageBody="{}")
    assert enforcement.used_actions()[ROLE] == {"sqs:SendMessage", "kms:GenerateDataKey", "kms:Decrypt"}


def test_receiving_from_the_queue_without_a_grant_fails_with_access_denied(enforcement, seeded):
    # GIVEN no sqs:ReceiveMessage  WHEN the role receives  THEN SQS's AccessDenied
    with pytest.raises(ClientError) as denied:
        enforcement.client(ROLE, "sqs").receive_message(QueueUrl=seeded.queue_url)
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_the_unused_report_lists_a_granted_action_no_call_used(enforcement):
    # GIVEN the role only read its parameters  WHEN the report is made
    read_path(enforcement, "/myapp/dev/database")
    report = enforcement.unused_report()
    # THEN sqs:SendMessage (granted, never called) is listed for the role, and the read's action is not
    line = next(line for line in report.splitlines() if line.strip().startswith(f"{ROLE}:"))
    assert "sqs:SendMessage" in line
    assert "GetParametersByPath" not in line


def test_a_denied_call_is_not_counted_as_used(enforcement):
    with pytest.raises(ClientError):
        read_path(enforcement, "/myapp/dev/cache")
    assert "kms:Decrypt" not in enforcement.used_actions().get(ROLE, set())
    assert len(enforcement.denials()) == 1


def test_the_role_credentials_identify_the_role(enforcement):
    # WHEN a function asks STS who it is  THEN moto answers with the role's session, as Lambda's would
    identity = enforcement.client(ROLE, "sts").get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{ROLE}/{ROLE}"


def test_the_stacks_own_identity_passes_unchecked(enforcement):
    # GIVEN the identity that seeds moto  WHEN it reads a path no role may  THEN the proxy passes it on
    ssm = admin(enforcement.endpoint_url, "ssm")
    assert ssm.get_parameters_by_path(Path="/myapp/dev/api", WithDecryption=True)["Parameters"]


def test_a_local_key_is_checked_as_the_key_arn_the_program_declares(moto_url, seeded):
    # GIVEN a role policy that names the database key by the program's ARN, not the local key's
    role = RoleBlueprint(ROLE, TRUST, {"policy": role_policy(seeded.keys, database_key=DECLARED_DATABASE_KEY)})
    with IamEnforcement(moto_url, REGION, ACCOUNT, [role]) as enforcement:
        with pytest.raises(ClientError, match="no identity-based policy allows the kms:Decrypt action"):
            read_path(enforcement, "/myapp/dev/database")
        # WHEN the local key is declared to stand for the program's  THEN the same read is allowed
        enforcement.declare(seeded.keys["database"], DECLARED_DATABASE_KEY)
        assert read_path(enforcement, "/myapp/dev/database") == {
            f"/myapp/dev/database/{DOCUMENT_NAME}": "database-value"
        }


def test_the_key_policy_the_program_declares_for_an_alias_is_the_one_checked(moto_url, seeded):
    # GIVEN moto's database key (its own policy names the api role) under the alias the program gives it,
    # and the program's policy for that key, which names only the worker role
    alias = "alias/serverless-infra-dev-database"
    admin(moto_url, "kms").create_alias(AliasName=alias, TargetKeyId=seeded.keys["database"])
    declared = KeyBlueprint("database", "database key", (alias,), key_policy("ssm", [WORKER_ROLE_ARN]))
    role = RoleBlueprint(ROLE, TRUST, {"policy": role_policy(seeded.keys)})
    # WHEN the api role reads the database path  THEN the program's key policy denies the decryption
    with (
        IamEnforcement(moto_url, REGION, ACCOUNT, [role], [declared]) as enforcement,
        pytest.raises(ClientError, match=r"kms:Decrypt on resource: \S+ because no resource-based policy"),
    ):
        read_path(enforcement, "/myapp/dev/database")
