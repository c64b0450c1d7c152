"""Each function's role, enforced on its AWS calls: a checking proxy in front of moto_server.

A function process gets the credentials of its role (an STS session moto issued for a role created
from the program's declaration) and an endpoint URL that points here, not at moto. Every call is
authorized as AWS would before it is passed on: the role's identity policies (inline and AWS
managed), and for a KMS key the key policy too, including the KMS use a service makes on the
caller's behalf (SSM decrypting a SecureString, SQS encrypting or decrypting an SSE-KMS queue,
Secrets Manager decrypting a secret), with ``kms:ViaService`` set as AWS sets it. A call the role
would not be allowed fails as AWS fails it (``AccessDeniedException``; ``AccessDenied`` for SQS
and the query-protocol services); every action allowed is recorded, so a run can report the
grants no call used.

Why not moto's own enforcement (``INITIAL_NO_AUTH_ACTION_COUNT``): moto 5.2 authorizes SSM and KMS
calls against the resource ``*`` (only SQS, IAM and STS work out the resource), so every grant
scoped to a parameter path or a key ARN, which is every grant the program makes, would deny; an
Allow whose condition fails counts there as an explicit Deny; a condition key the request lacks
passes; and key policies are not read. The matching is still moto's:
:class:`moto.iam.access_control.IAMPolicyStatement` decides whether a statement's
Action/NotAction, Resource and ``StringEquals`` conditions match; this module picks the
statements (by principal, for a key policy), supplies the request's condition keys and combines
the results as AWS does. What moto cannot evaluate (another condition operator, ``NotResource``)
never grants, and a Deny with it applies.

Calls signed with other credentials (the stack's own identity, which seeds moto and acts as the
platform) pass unchecked. Signatures are not verified: the access key ID alone says which role's
session made a call. Not modelled: the role's trust policy (the stack's identity assumes every
role), permission boundaries, SCPs, session policies, KMS grants, and calls whose action cannot be
read from the request (REST-protocol services): a role's such call is denied, saying so.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import json
import threading
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

import boto3
import urllib3
from botocore.exceptions import ClientError
from moto.iam.access_control import IAMPolicyStatement, PermissionResult
from moto.kms.utils import KEY_ID_LEN

from local.blueprint import KeyBlueprint, RoleBlueprint

Statement = Mapping[str, Any]

ADMIN_CREDENTIALS: Final = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
"""Who this module asks moto as (local.aws's dummy credentials): the stack's own, unchecked identity."""

ABSENT: Final = "\x00absent"
"""The value given for a condition key the request lacks: no policy names it, so the test fails, as on AWS."""

PLATFORM_ACTIONS: Final = frozenset(
    {
        "logs:createloggroup",
        "logs:createlogstream",
        "logs:putlogevents",
        "xray:puttelemetryrecords",
        "xray:puttracesegments",
        "ec2:describenetworkinterfaces",
        "ec2:describesubnets",
        "ec2:assignprivateipaddresses",
        "ec2:createnetworkinterface",
        "ec2:deletenetworkinterface",
        "ec2:unassignprivateipaddresses",
    }
)
"""Granted for Lambda itself (logs, traces, VPC interfaces): no function code calls them, so no run uses them."""

BATCH_ACTIONS: Final = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}
"""Operations IAM authorizes under another action's name."""

SIGNING_PREFIXES: Final = {"monitoring": "cloudwatch", "email": "ses"}
"""Signing names that differ from the service's IAM prefix."""

_NO_CHECK: Final = frozenset({"sts:GetCallerIdentity"})  # AWS allows it whatever the policies say
_HOP_BY_HOP: Final = frozenset({"connection", "content-length", "transfer-encoding", "keep-alive"})


class Effect(Enum):
    """What a set of statements says about one request."""

    ALLOW = "allow"
    DENY = "deny"
    NONE = "none"  # no statement applies: an implicit deny


@dataclass(frozen=True)
class Check:
    """One action on one resource that a call needs, with ``kms:ViaService`` when a service asks for it."""

    action: str
    resource: str
    via_service: str | None = None


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str = ""


@dataclass(frozen=True)
class Call:
    """An AWS API call as read from its request."""

    service: str  # the signing name in the credential scope
    operation: str
    params: Mapping[str, Any]
    access_key_id: str
    protocol: str  # "json" or "query"


# -- policy evaluation (moto's matching) -----------------------------------------------------------
def statements_of(document: str | Mapping[str, Any]) -> list[Statement]:
    """The statements of a policy document (JSON text or parsed)."""
    parsed = json.loads(document) if isinstance(document, str) else document
    found = parsed.get("Statement", [])
    return [found] if isinstance(found, Mapping) else list(found)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _moto_conditions(condition: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]] | None:
    """The conditions as moto can evaluate them (StringEquals), or None when some cannot be.

    ``ArnEquals``/``ArnLike`` without a wildcard compare like ``StringEquals``, so they are merged in.
    """
    merged: dict[str, Any] = {}
    for operator, tests in condition.items():
        exact_arns = operator in ("ArnEquals", "ArnLike") and not any(
            "*" in str(value) or "?" in str(value) for values in tests.values() for value in _as_list(values)
        )
        if operator != "StringEquals" and not exact_arns:
            return None
        for key, values in tests.items():
            if key in merged:
                return None
            merged[key] = values
    return {"StringEquals": merged} if merged else {}


def _matches(statement: Statement, check: Check, context: Mapping[str, str]) -> bool:
    """Whether the statement's action, resource and conditions all match (moto decides).

    Moto is asked about an Allow copy without a principal, so a failed condition reads as "does not
    apply" (moto would call it a Deny); actions are compared in lower case, as IAM compares them.
    """
    if "NotResource" in statement:
        return statement.get("Effect") == "Deny"
    conditions = _moto_conditions(statement.get("Condition", {}))
    if conditions is None and statement.get("Effect") != "Deny":
        return False  # an Allow this cannot evaluate grants nothing
    probe: dict[str, Any] = {
        key: [str(action).lower() for action in _as_list(statement[key])]
        for key in ("Action", "NotAction")
        if key in statement
    }
    probe |= {"Effect": "Allow", "Resource": statement.get("Resource", "*"), "Condition": conditions or {}}
    values = {key: context.get(key.lower(), ABSENT) for tests in (conditions or {}).values() for key in tests}
    result = IAMPolicyStatement(probe).is_action_permitted(check.action.lower(), check.resource, None, values)
    return bool(result == PermissionResult.PERMITTED)


def evaluate(statements: Iterable[Statement], check: Check, context: Mapping[str, str]) -> Effect:
    """An explicit Deny wins, then any Allow; nothing applying is an implicit deny."""
    effect = Effect.NONE
    for statement in statements:
        if _matches(statement, check, context):
            if statement.get("Effect") == "Deny":
                return Effect.DENY
            effect = Effect.ALLOW
    return effect


def _principals(statement: Statement) -> list[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    if isinstance(principal, Mapping):
        return [str(p) for p in _as_list(principal.get("AWS", []))]
    return []


def authorize(
    identity: Sequence[Statement],
    key_policy: Sequence[Statement] | None,
    principal_arn: str,
    account_id: str,
    check: Check,
) -> Verdict:
    """AWS's answer for ``check`` by a role; ``key_policy`` for an action on a KMS key.

    A key policy statement naming the role (or ``*``) allows by itself; one naming the account
    (``:root`` or the account ID) only delegates to the role's identity policies, which must allow
    too. https://docs.aws.amazon.com/kms/latest/developerguide/determining-access.html
    """
    partition = principal_arn.split(":")[1]
    context = {"aws:principalarn": principal_arn, "aws:principalaccount": account_id, "kms:calleraccount": account_id}
    if check.via_service is not None:
        context["kms:viaservice"] = check.via_service
    identity_effect = evaluate(identity, check, context)
    denied = f"not authorized to perform: {check.action} on resource: {check.resource} because"
    if identity_effect is Effect.DENY:
        return Verdict(False, f"{denied} an explicit deny in an identity-based policy")
    if key_policy is None:
        if identity_effect is Effect.ALLOW:
            return Verdict(True)
        return Verdict(False, f"{denied} no identity-based policy allows the {check.action} action")
    account = {f"arn:{partition}:iam::{account_id}:root", account_id}
    direct = [s for s in key_policy if {"*", principal_arn} & set(_principals(s))]
    delegating = [s for s in key_policy if account & set(_principals(s))]
    direct_effect, delegated_effect = evaluate(direct, check, context), evaluate(delegating, check, context)
    if Effect.DENY in (direct_effect, delegated_effect):
        return Verdict(False, f"{denied} an explicit deny in a resource-based policy")
    if direct_effect is Effect.ALLOW or (delegated_effect is Effect.ALLOW and identity_effect is Effect.ALLOW):
        return Verdict(True)
    if delegated_effect is Effect.ALLOW:
        return Verdict(False, f"{denied} no identity-based policy allows the {check.action} action")
    return Verdict(False, f"{denied} no resource-based policy allows the {check.action} action")


def action_matches(granted: str, used: str) -> bool:
    """Whether an Action element as written (wildcards kept) covers an action (moto's matching)."""
    probe = IAMPolicyStatement({"Effect": "Allow", "Action": granted.lower(), "Resource": "*"})
    return bool(probe.is_action_permitted(used.lower()) == PermissionResult.PERMITTED)


@functools.cache
def _aws_managed_documents() -> Mapping[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    parsed: Mapping[str, Any] = json.loads(aws_managed_policies_data)
    return parsed


def managed_policy_statements(arn: str) -> list[Statement] | None:
    """An AWS managed policy's statements, from moto's copy of them; None for any other policy."""
    if ":iam::aws:policy/" not in arn:
        return None
    entry = _aws_managed_documents().get(arn.rsplit("/", 1)[-1])
    return None if entry is None else statements_of(entry["Document"])


# -- reading a request ----------------------------------------------------------------------------
def parse_call(path: str, headers: Mapping[str, str], body: bytes) -> Call | None:
    """The call a SigV4-signed JSON or query-protocol request makes; None for anything else."""
    scope = headers.get("Authorization", "").partition("Credential=")[2].partition(",")[0].split("/")
    if len(scope) < 4:
        return None
    access_key_id, service = scope[0], scope[3]
    target = headers.get("X-Amz-Target")
    if target:
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            return None
        if not isinstance(params, dict):
            return None
        return Call(service, target.rpartition(".")[2], params, access_key_id, "json")
    form = parse_qs(urlsplit(path).query) | parse_qs(body.decode(errors="replace"))
    if "Action" not in form:
        return None
    params = {key: values[0] for key, values in form.items()}
    return Call(service, params["Action"], params, access_key_id, "query")


def parameter_arn(partition: str, region: str, account_id: str, name: str) -> str:
    """An SSM parameter's ARN: ``/a/b`` -> ``...:parameter/a/b``, ``a`` -> ``...:parameter/a``."""
    return f"arn:{partition}:ssm:{region}:{account_id}:parameter/{name.lstrip('/')}"


class Resolver:
    """What a call's checks depend on that only moto knows (key ARNs, which key encrypts what), asked as the admin."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        self._region = region
        self._clients: dict[str, Any] = {}
        self._endpoint_url = endpoint_url
        self._key_arns: dict[str, str] = {}
        self._lock = threading.Lock()

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = boto3.client(
                    service,
                    region_name=self._region,
                    endpoint_url=self._endpoint_url,
                    aws_access_key_id=ADMIN_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                    aws_secret_access_key=ADMIN_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                )
            return self._clients[service]

    def key_arn(self, key_id: str) -> str | None:
        """The ARN of a key named by ID, ARN, alias or alias ARN; None for one moto lacks (AWS managed).

        Found by key ID or ARN, it is kept (a key's ARN never changes; an alias can be moved).
        """
        if key_id in self._key_arns:
            return self._key_arns[key_id]
        try:
            arn: str = self.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
        except ClientError:
            return None
        if "alias/" not in key_id:
            self._key_arns[key_id] = arn
        return arn

    def key_aliases(self, key_id: str) -> set[str]:
        aliases = self.client("kms").list_aliases(KeyId=key_id)["Aliases"]
        return {alias["AliasName"] for alias in aliases}

    def key_policy(self, key_id: str) -> str:
        policy: str = self.client("kms").get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
        return policy

    def parameter_keys(self, names: Sequence[str] = (), path: str | None = None, recursive: bool = False) -> set[str]:
        """The keys of the SecureString parameters named, or under ``path``."""
        if path is not None:
            option = "Recursive" if recursive else "OneLevel"
            filters = [{"Key": "Path", "Option": option, "Values": [path]}]
        else:
            filters = [{"Key": "Name", "Option": "Equals", "Values": list(names)}]
        keys: set[str] = set()
        paginator = self.client("ssm").get_paginator("describe_parameters")
        for page in paginator.paginate(ParameterFilters=filters):
            keys |= {p["KeyId"] for p in page["Parameters"] if p.get("Type") == "SecureString" and p.get("KeyId")}
        return keys

    def queue_key(self, queue_url: str) -> str | None:
        try:
            attributes = self.client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["KmsMasterKeyId"])
        except ClientError:
            return None
        key: str | None = attributes.get("Attributes", {}).get("KmsMasterKeyId")
        return key

    def secret(self, secret_id: str) -> tuple[str, str | None] | None:
        try:
            secret = self.client("secretsmanager").describe_secret(SecretId=secret_id)
        except ClientError:
            return None
        return secret["ARN"], secret.get("KmsKeyId")


class CallChecks:
    """The checks a call needs: its own action on its resource, and the KMS use it makes through a service."""

    def __init__(self, resolver: Resolver, region: str, account_id: str, partition: str) -> None:
        self._resolver = resolver
        self._region, self._account, self._partition = region, account_id, partition

    def via(self, service: str) -> str:
        return f"{service}.{self._region}.amazonaws.com"

    def __call__(self, call: Call) -> list[Check]:
        prefix = SIGNING_PREFIXES.get(call.service, call.service)
        action = f"{prefix}:{call.operation}"
        action = BATCH_ACTIONS.get(action, action)
        if prefix == "ssm":
            return self._ssm(action, call.params)
        if prefix == "sqs":
            return self._sqs(action, call.params)
        if prefix == "kms":
            return [Check(action, self._kms_resource(call.params))]
        if prefix == "secretsmanager":
            return self._secretsmanager(action, call.params)
        return [Check(action, "*")]

    def _kms_key_checks(self, key_ids: Iterable[str], actions: Sequence[str], service: str) -> list[Check]:
        arns = {self._resolver.key_arn(key_id) for key_id in key_ids}
        return [Check(a, arn, self.via(service)) for arn in sorted(a for a in arns if a) for a in actions]

    def _ssm(self, action: str, params: Mapping[str, Any]) -> list[Check]:
        arn = functools.partial(parameter_arn, self._partition, self._region, self._account)
        decrypt = bool(params.get("WithDecryption"))
        if "Path" in params:
            checks = [Check(action, arn(params["Path"]))]
            keys = self._resolver.parameter_keys(path=params["Path"], recursive=bool(params.get("Recursive")))
        else:
            names = [params["Name"]] if "Name" in params else list(params.get("Names", []))
            checks = [Check(action, arn(name)) for name in names] or [Check(action, "*")]
            keys = self._resolver.parameter_keys(names=names) if decrypt and names else set()
        return checks + (self._kms_key_checks(keys, ("kms:Decrypt",), "ssm") if decrypt else [])

    def _sqs(self, action: str, params: Mapping[str, Any]) -> list[Check]:
        url = params.get("QueueUrl")
        name = str(url).rstrip("/").rsplit("/", 1)[-1] if url else params.get("QueueName")
        if not name:
            return [Check(action, "*")]
        checks = [Check(action, f"arn:{self._partition}:sqs:{self._region}:{self._account}:{name}")]
        implied = {"sqs:SendMessage": ("kms:GenerateDataKey", "kms:Decrypt"), "sqs:ReceiveMessage": ("kms:Decrypt",)}
        key = self._resolver.queue_key(str(url)) if url and action in implied else None
        return checks + (self._kms_key_checks([key], implied[action], "sqs") if key else [])

    def _secretsmanager(self, action: str, params: Mapping[str, Any]) -> list[Check]:
        secret = self._resolver.secret(str(params["SecretId"])) if "SecretId" in params else None
        if secret is None:
            return [Check(action, "*")]
        arn, key = secret
        decrypt = action == "secretsmanager:GetSecretValue" and key is not None
        return [Check(action, arn)] + (
            self._kms_key_checks([str(key)], ("kms:Decrypt",), "secretsmanager") if decrypt else []
        )

    def _kms_resource(self, params: Mapping[str, Any]) -> str:
        key_id = params.get("KeyId") or _ciphertext_key_id(params.get("CiphertextBlob"))
        return (self._resolver.key_arn(str(key_id)) if key_id else None) or "*"


def _ciphertext_key_id(blob: Any) -> str | None:
    """The key a moto ciphertext was made with: its first ``KEY_ID_LEN`` bytes (moto.kms.utils' format)."""
    if not isinstance(blob, str):
        return None
    try:
        return base64.b64decode(blob)[:KEY_ID_LEN].decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def denial(call: Call, message: str) -> tuple[int, dict[str, str], bytes]:
    """The error AWS returns for a denied call, in the call's protocol."""
    if call.protocol == "json":
        headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": str(uuid.uuid4())}
        code = "AccessDeniedException"
        if call.service == "sqs":  # SQS's JSON protocol keeps the query protocol's error codes
            headers["x-amzn-query-error"] = "AccessDenied;Sender"
            code = "com.amazon.coral.service#AccessDeniedException"
        return 400, headers, json.dumps({"__type": code, "message": message}).encode()
    body = (
        "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
        f"<Message>{escape(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return 403, {"Content-Type": "text/xml"}, body.encode()


# -- the enforcement -------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Session:
    role_name: str
    session_arn: str
    credentials: Mapping[str, str]


class IamEnforcement:
    """The program's roles in moto, their credentials, and the proxy that checks their calls.

    ``prepare`` (after moto is seeded; the seeding identity is never checked) creates the roles
    with their policies, assumes each, and starts the proxy; function processes then get
    :meth:`function_environment`. ``declare`` tells which declared ARN a local resource stands for
    when they differ (a moto key's random ID against the key ID the program's policies name).
    """

    def __init__(
        self,
        moto_url: str,
        region: str,
        account_id: str,
        roles: Iterable[RoleBlueprint],
        keys: Iterable[KeyBlueprint] = (),
        host: str = "127.0.0.1",
    ) -> None:
        self.moto_url, self.region, self.account_id, self.host = moto_url.rstrip("/"), region, account_id, host
        self.partition = "aws-cn" if region.startswith("cn-") else "aws"
        self.roles = {role.name: role for role in roles}
        self.keys = tuple(keys)
        self.resolver = Resolver(self.moto_url, region)
        self._checks = CallChecks(self.resolver, region, account_id, self.partition)
        self._declared: dict[str, str] = {}
        self._sessions: dict[str, _Session] = {}  # access key ID -> session
        self._by_role: dict[str, _Session] = {}
        self._issued: set[str] = set()  # roles whose credentials were handed out: the report's roles
        self._key_policies: dict[str, list[Statement]] = {}
        self._used: defaultdict[str, set[str]] = defaultdict(set)
        self._denials: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._pool = urllib3.PoolManager(maxsize=16)

    # -- lifecycle
    def prepare(self) -> None:
        """Create every role in moto with its policies, take an STS session of each, start the proxy."""
        iam, sts = self.resolver.client("iam"), self.resolver.client("sts")
        for role in self.roles.values():
            with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
                iam.create_role(RoleName=role.name, AssumeRolePolicyDocument=role.assume_role_policy)
            for name, document in role.inline_policies.items():
                iam.put_role_policy(RoleName=role.name, PolicyName=name, PolicyDocument=document)
            for arn in role.managed_policy_arns:
                # moto has AWS managed policies only when told to load them; evaluation reads its copy anyway
                with contextlib.suppress(ClientError):
                    iam.attach_role_policy(RoleName=role.name, PolicyArn=arn)
            arn = f"arn:{self.partition}:iam::{self.account_id}:role/{role.name}"
            session_name = (role.name if len(role.name) > 1 else f"{role.name}-local")[:64]  # STS: 2 to 64 long
            answer = sts.assume_role(RoleArn=arn, RoleSessionName=session_name)
            given = answer["Credentials"]
            session = _Session(
                role.name,
                answer["AssumedRoleUser"]["Arn"],
                {
                    "AWS_ACCESS_KEY_ID": given["AccessKeyId"],
                    "AWS_SECRET_ACCESS_KEY": given["SecretAccessKey"],
                    "AWS_SESSION_TOKEN": given["SessionToken"],
                },
            )
            self._sessions[given["AccessKeyId"]] = session
            self._by_role[role.name] = session
        self._serve()

    def _serve(self) -> None:
        enforcement = self

        class Handler(_ProxyHandler):
            owner = enforcement

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="iam-proxy", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop the proxy; safe to call more than once."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._pool.clear()

    def __enter__(self) -> IamEnforcement:
        self.prepare()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- what the stack hands to function processes
    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("IamEnforcement.prepare() has not run")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def credentials_for(self, role_name: str) -> dict[str, str]:
        """AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN of the role's session."""
        credentials = dict(self._by_role[role_name].credentials)
        self._issued.add(role_name)
        return credentials

    def function_environment(self, role_name: str) -> dict[str, str]:
        """The role's credentials and the checking endpoint: what a function process needs to be held to its role."""
        return {"AWS_ENDPOINT_URL": self.endpoint_url, **self.credentials_for(role_name)}

    def client(self, role_name: str, service: str) -> Any:
        """A boto3 client acting as the role through the proxy, for what Lambda does as the role (polling a queue)."""
        credentials = self.credentials_for(role_name)
        return boto3.client(
            service,
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials["AWS_SESSION_TOKEN"],
        )

    def declare(self, local_arn: str, declared_arn: str) -> None:
        """Evaluate calls on ``local_arn`` as calls on ``declared_arn``, the ARN the program's policies name."""
        self._declared[local_arn] = declared_arn

    # -- checking
    def identity_statements(self, role_name: str) -> list[Statement]:
        """The role's inline policies and the AWS managed ones it attaches (others: nothing, so denied)."""
        role = self.roles[role_name]
        found = [s for document in role.inline_policies.values() for s in statements_of(document)]
        for arn in role.managed_policy_arns:
            found += managed_policy_statements(arn) or []
        return found

    def _key_statements(self, key_arn: str) -> list[Statement]:
        """The key policy: the program's for the key with one of its aliases, else the one moto holds."""
        if key_arn not in self._key_policies:
            aliases = self.resolver.key_aliases(key_arn)
            declared = next((k.policy for k in self.keys if aliases & set(k.aliases) and k.policy), None)
            self._key_policies[key_arn] = statements_of(declared or self.resolver.key_policy(key_arn))
        return self._key_policies[key_arn]

    def check(self, role_name: str, check: Check) -> Verdict:
        """One check for a role's session, on the resource the program's policies name."""
        session = self._by_role[role_name]
        is_key = check.action.startswith("kms:") and ":key/" in check.resource
        key_policy = self._key_statements(check.resource) if is_key else None
        declared = Check(check.action, self._declared.get(check.resource, check.resource), check.via_service)
        role_arn = f"arn:{self.partition}:iam::{self.account_id}:role/{role_name}"
        verdict = authorize(self.identity_statements(role_name), key_policy, role_arn, self.account_id, declared)
        if verdict.allowed:
            return verdict
        return Verdict(False, f"User: {session.session_arn} is {verdict.reason}")

    def authorize_call(self, call: Call) -> Verdict | None:
        """The verdict for a call, recording what it used; None for a call by an identity not checked here."""
        session = self._sessions.get(call.access_key_id)
        if session is None:
            return None
        checks = self._checks(call)
        verdicts = [(check, self.check(session.role_name, check)) for check in checks if check.action not in _NO_CHECK]
        with self._lock:
            for _, verdict in verdicts:
                if not verdict.allowed:
                    self._denials.append((session.role_name, verdict.reason))
                    return verdict
            self._used[session.role_name] |= {check.action for check, _ in verdicts}
        return Verdict(True)

    # -- reporting
    def granted_actions(self, role_name: str) -> set[str]:
        """The actions the role's policies allow, as written (a wildcard stays one)."""
        return {
            str(action)
            for statement in self.identity_statements(role_name)
            if statement.get("Effect") == "Allow"
            for action in _as_list(statement.get("Action", []))
        }

    def used_actions(self) -> dict[str, set[str]]:
        """Role name -> the actions its calls were allowed (including KMS use through a service)."""
        with self._lock:
            return {role: set(actions) for role, actions in self._used.items()}

    def denials(self) -> list[tuple[str, str]]:
        """(role name, AWS's message) for every call denied so far."""
        with self._lock:
            return list(self._denials)

    def unused_actions(self, role_name: str) -> list[str]:
        """Granted actions no allowed call of the role matched."""
        used = self.used_actions().get(role_name, set())
        return sorted(g for g in self.granted_actions(role_name) if not any(action_matches(g, u) for u in used))

    def unused_report(self) -> str:
        """Per role whose credentials were handed out: the granted actions no call used."""
        lines = ["IAM grants no call used (per role; the Lambda service's own are listed apart):"]
        for role_name in sorted(self._issued):
            unused = self.unused_actions(role_name)
            own = [a for a in unused if a.lower() not in PLATFORM_ACTIONS]
            platform = [a for a in unused if a.lower() in PLATFORM_ACTIONS]
            lines.append(f"  {role_name}: {', '.join(own) if own else 'none'}")
            if platform:
                lines.append(f"    for Lambda itself, never called locally: {', '.join(platform)}")
        return "\n".join(lines)


class _ProxyHandler(BaseHTTPRequestHandler):
    """Checks a call against its role, then passes it to moto (or answers as AWS denies it)."""

    owner: IamEnforcement
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: moto's own log has every request."""

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = dict(self.headers.items())
        call = parse_call(self.path, headers, body)
        verdict = self._verdict(call, headers)
        if verdict is not None and not verdict.allowed and call is not None:
            self._reply(*denial(call, verdict.reason))
            return
        if verdict is not None and not verdict.allowed:
            self._reply(403, {"Content-Type": "text/plain"}, verdict.reason.encode())
            return
        forwarded = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
        response = self.owner._pool.request(
            self.command, self.owner.moto_url + self.path, body=body, headers=forwarded, redirect=False, retries=False
        )
        self._reply(response.status, dict(response.headers.items()), response.data)

    def _verdict(self, call: Call | None, headers: Mapping[str, str]) -> Verdict | None:
        if call is not None:
            return self.owner.authorize_call(call)
        scope = headers.get("Authorization", "").partition("Credential=")[2].split("/")[0]
        if scope in self.owner._sessions:
            return Verdict(False, "the local IAM check cannot tell this request's action (not a JSON or query call)")
        return None

    def _reply(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() not in _HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()
