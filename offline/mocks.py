"""Pulumi mocks that answer like AWS would, and remember everything the program registered.

Resource registrations get back their inputs plus the attributes AWS computes (ids, ARNs,
endpoints) with plausible, deterministic values. Invokes get every field of the
provider SDK's result type with a plausible value (:mod:`offline.invokes`), with more specific
answers on top for the ones programs commonly use (caller identity, region, partition,
availability zones, IAM policy documents built from their inputs, AMIs); an invoke of a package
whose SDK is not importable gets an empty answer and is recorded as a warning, so a program that
depends on one is noticed rather than silently mis-modelled.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

from offline.invokes import synthesized_result

ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
DEPLOYER_ROLE = "serverless-infra-deployer"


@dataclass
class ResourceRecord:
    """One registered resource, with what the engine would know about it."""

    type: str
    name: str
    urn: str
    custom: bool
    parent: str = ""
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    id: str = ""
    provider: str = ""
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    protect: bool = False
    raw_inputs: Any = None  # the protobuf Struct the engine received, for re-marshalling as-is
    source_position: dict[str, Any] | None = None  # where the program registered it: {"uri", "line"}


@dataclass
class InvokeRecord:
    token: str
    args: dict[str, Any]


STACK_REFERENCE = "pulumi:pulumi:StackReference"


class AwsMocks(pulumi.runtime.Mocks):
    """Answers resource registrations and invokes; records both."""

    def __init__(
        self,
        region: str = DEFAULT_REGION,
        account_id: str = ACCOUNT_ID,
        *,
        unknown_computed: bool = False,
        stack_outputs: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.region = region
        self.account_id = account_id
        # What other stacks export, by fully qualified stack name, for pulumi.StackReference.
        self.stack_outputs = dict(stack_outputs or {})
        # A first preview: the provider has created nothing yet, so IDs and computed attributes are
        # unknown and only the inputs come back (the SDK then marks everything else unknown).
        self.unknown_computed = unknown_computed
        self.invokes: list[InvokeRecord] = []
        self.warnings: list[str] = []
        self.activity = Activity()
        self._invoke_answers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "aws:index/getCallerIdentity:getCallerIdentity": self._caller_identity,
            "aws:index/getRegion:getRegion": self._region,
            "aws:index/getPartition:getPartition": self._partition,
            "aws:index/getAvailabilityZones:getAvailabilityZones": self._availability_zones,
            "aws:iam/getPolicyDocument:getPolicyDocument": _policy_document,
            "aws:iam/getSessionContext:getSessionContext": self._session_context,
            "aws:ec2/getAmi:getAmi": self._ami,
        }

    # -- resources -----------------------------------------------------------------------------
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if args.typ == STACK_REFERENCE:
            return self._stack_reference(args)
        if self.unknown_computed:
            return "", dict(args.inputs)
        physical = _physical_name(args.typ, args.name, args.inputs)
        resource_id = args.resource_id or physical
        state = dict(args.inputs)
        computed = _COMPUTED.get(args.typ)
        service = _service_of(args.typ)
        state.setdefault("arn", f"arn:aws:{service}:{self.region}:{self.account_id}:{_kind_of(args.typ)}/{physical}")
        if computed is not None:
            state.update(computed(self, physical, args.inputs))
        return resource_id, state

    def _stack_reference(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        """A referenced stack's outputs: as given, else unknown (never invented).

        The engine reads them from the referenced stack's state, on a first preview too; offline
        they come from ``stack_outputs``. Without them ``outputs`` is left out of the state, which
        the SDK reports as unknown during a preview, so whatever derives from them is unknown.
        """
        name = str(args.inputs.get("name") or args.name)
        given = self.stack_outputs.get(name)
        if given is None:
            self.warnings.append(
                f"stack reference {name!r}: its outputs are unknown offline (give them with --stack-outputs)"
            )
            return name, {"name": name}
        return name, {"name": name, "outputs": dict(given), "secretOutputNames": []}

    # -- invokes -------------------------------------------------------------------------------
    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:  # type: ignore[override]
        call_args = dict(args.args)
        self.invokes.append(InvokeRecord(args.token, call_args))
        with self.activity.step(f"invoke {args.token}"):
            answer = self._invoke_answers.get(args.token)
            generic = synthesized_result(args.token, call_args, region=self.region, account_id=self.account_id)
            if answer is None and generic is None:
                self.warnings.append(f"no offline answer for invoke {args.token}; it returned nothing")
                return {}
            # Every field of the SDK's result type, then what this module knows better on top.
            return {**(generic or {}), **(answer(call_args) if answer is not None else {})}

    def _caller_identity(self, _: dict[str, Any]) -> dict[str, Any]:
        return {
            "accountId": self.account_id,
            "arn": f"arn:aws:sts::{self.account_id}:assumed-role/{DEPLOYER_ROLE}/offline",
            "userId": "AROAOFFLINEOFFLINE:offline",
            "id": self.account_id,
        }

    def _region(self, _: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": self.region,
            "region": self.region,
            "id": self.region,
            "description": "US East (N. Virginia)",
            "endpoint": f"ec2.{self.region}.amazonaws.com",
        }

    def _partition(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"partition": "aws", "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws", "id": "aws"}

    def _availability_zones(self, _: dict[str, Any]) -> dict[str, Any]:
        letters = "abcdef"
        return {
            "names": [f"{self.region}{letter}" for letter in letters],
            "zoneIds": [f"use1-az{index + 1}" for index in range(len(letters))],
            "groupNames": [self.region] * len(letters),
            "id": self.region,
            "state": "available",
        }

    def _session_context(self, args: dict[str, Any]) -> dict[str, Any]:
        arn = str(args.get("arn", ""))
        prefix = f"arn:aws:sts::{self.account_id}:assumed-role/"
        if arn.startswith(prefix):
            role, _, session = arn[len(prefix) :].partition("/")
            issuer = f"arn:aws:iam::{self.account_id}:role/{role}"
            return {
                "arn": arn,
                "issuerArn": issuer,
                "issuerName": role,
                "issuerId": "AROAOFFLINE",
                "sessionName": session,
            }
        return {"arn": arn, "issuerArn": arn, "issuerName": arn.rsplit("/", 1)[-1], "issuerId": "", "sessionName": ""}

    def _ami(self, args: dict[str, Any]) -> dict[str, Any]:
        digest = hashlib.sha256(json.dumps(args, sort_keys=True, default=str).encode()).hexdigest()
        return {"id": f"ami-{digest[:17]}", "imageId": f"ami-{digest[:17]}", "architecture": "arm64", "name": "offline"}


class Activity:
    """What the program is doing, for a deadline's message: what it waits for, and its last step.

    A resource is *constructed* when the program creates it (seen by a stack transformation) and
    *registered* when its inputs have resolved and the monitor receives it; a monitor call
    (registration or invoke) is *in flight* until the mocks answer. Thread-safe: the SDK calls the
    monitor from executor threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting_inputs: dict[tuple[str, str], int] = {}
        self._in_flight: dict[int, tuple[str, float]] = {}
        self._sequence = 0
        self.last = ""

    def constructed(self, type_token: str, name: str) -> None:
        with self._lock:
            key = (type_token, name)
            self._waiting_inputs[key] = self._waiting_inputs.get(key, 0) + 1

    def registering(self, type_token: str, name: str) -> None:
        with self._lock:
            key = (type_token, name)
            if self._waiting_inputs.get(key, 0) > 1:
                self._waiting_inputs[key] -= 1
            else:
                self._waiting_inputs.pop(key, None)

    class _Step:
        def __init__(self, activity: Activity, label: str) -> None:
            self.activity, self.label, self.key = activity, label, 0

        def __enter__(self) -> None:
            with self.activity._lock:
                self.activity._sequence += 1
                self.key = self.activity._sequence
                self.activity._in_flight[self.key] = (self.label, time.monotonic())
                self.activity.last = self.label

        def __exit__(self, *_: object) -> None:
            with self.activity._lock:
                self.activity._in_flight.pop(self.key, None)

    def step(self, label: str) -> Activity._Step:
        return Activity._Step(self, label)

    def outstanding(self, limit: int = 5) -> list[str]:
        """The oldest unanswered monitor calls, then resources whose inputs never resolved."""
        with self._lock:
            calls = [f"{label} (no answer yet)" for label, _ in sorted(self._in_flight.values(), key=lambda e: e[1])]
            waiting = [f"resource {t} '{n}' (its inputs never resolved)" for t, n in self._waiting_inputs]
        found = calls + waiting
        return found[:limit] + ([f"{len(found) - limit} more"] if len(found) > limit else [])


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also keeping what the engine sees of each registration.

    The mock monitor hands :class:`AwsMocks` only type, name and inputs; the policy engine also
    needs parents, dependencies and property dependencies, which only the raw request carries.
    """

    def __init__(self, mocks: AwsMocks, on_register: Callable[[ResourceRecord], None] | None = None) -> None:
        super().__init__(mocks)
        self.mocks: AwsMocks = mocks
        self.on_register = on_register  # told of each new resource as it registers, as the engine's analyzers are
        self.records: dict[str, ResourceRecord] = {}
        self.order: list[str] = []
        self.stack_urn = ""
        self.stack_outputs: dict[str, Any] = {}

    def note_construction(self, args: pulumi.ResourceTransformationArgs) -> None:
        """A stack transformation: every resource passes here when the program creates it."""
        self.mocks.activity.constructed(args.type_, args.name)

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        raw_object = request.object
        request = _references_resolved(request, "object")
        self.mocks.activity.registering(request.type, request.name)
        with self.mocks.activity.step(f"resource {request.type} '{request.name}' registration"):
            response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type == "pulumi:pulumi:Stack":
            self.stack_urn = response.urn
            return response
        inputs = rpc.deserialize_properties(request.object, keep_unknowns=True)
        registration = self.resources.get(response.urn)
        record = ResourceRecord(
            type=request.type,
            name=request.name,
            urn=response.urn,
            custom=bool(request.custom),
            parent=request.parent,
            inputs=dict(inputs),
            outputs=dict(registration.state) if registration is not None else {},
            id=response.id,
            provider=request.provider,
            dependencies=list(request.dependencies),
            property_dependencies={key: list(value.urns) for key, value in request.propertyDependencies.items()},
            protect=bool(request.protect),
            raw_inputs=raw_object,
            source_position=_source_position(request),
        )
        new = response.urn not in self.records
        if new:
            self.order.append(response.urn)
        self.records[response.urn] = record
        if new and self.on_register is not None:
            self.on_register(record)
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        """Component and stack outputs (``register_outputs``/``pulumi.export``), secrets still wrapped."""
        request = _references_resolved(request, "outputs")
        outputs = dict(rpc.deserialize_properties(request.outputs, keep_unknowns=True))
        if request.urn == self.stack_urn:
            self.stack_outputs = outputs
        elif request.urn in self.records:
            self.records[request.urn].outputs = outputs
        return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]


def _references_resolved(request: Any, field_name: str) -> Any:
    """A copy of ``request`` whose resource references are the referenced IDs (URNs for components).

    The engine hands a provider that does not accept references the ID instead; the mocks do the
    same. Deserializing a reference would rehydrate the resource on the monitor's thread, whose
    event loop is not the program's ("attached to a different loop").
    """
    struct = getattr(request, field_name)
    if RESOURCE_SIG_BYTES not in struct.SerializeToString():
        return request
    from google.protobuf import json_format  # type: ignore[import-untyped]

    copy = type(request)()
    copy.CopyFrom(request)
    getattr(copy, field_name).Clear()
    getattr(copy, field_name).update(_without_references(json_format.MessageToDict(struct)))
    return copy


RESOURCE_SIG_BYTES = rpc._special_resource_sig.encode()


def _without_references(value: Any) -> Any:
    if isinstance(value, list):
        return [_without_references(element) for element in value]
    if not isinstance(value, dict):
        return value
    if value.get(rpc._special_sig_key) == rpc._special_resource_sig:
        resource_id = value.get("id")
        if "id" in value:
            return rpc.UNKNOWN if resource_id in ("", None) else resource_id
        return value.get("urn", rpc.UNKNOWN)
    return {key: _without_references(element) for key, element in value.items()}


# -- computed attributes per resource type ---------------------------------------------------------
ComputedFn = Callable[[AwsMocks, str, Mapping[str, Any]], dict[str, Any]]


def _rds_instance(mocks: AwsMocks, physical: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    address = f"{physical}.c0ffee0ffline.{mocks.region}.rds.amazonaws.com"
    port = inputs.get("port") or 5432
    computed: dict[str, Any] = {
        "address": address,
        "endpoint": f"{address}:{port}",
        "port": port,
        "identifier": inputs.get("identifier") or physical,
        "resourceId": "db-" + _digest(physical)[:26].upper(),
        "arn": f"arn:aws:rds:{mocks.region}:{mocks.account_id}:db:{inputs.get('identifier') or physical}",
    }
    if inputs.get("manageMasterUserPassword"):
        computed["masterUserSecrets"] = [
            {
                "secretArn": f"arn:aws:secretsmanager:{mocks.region}:{mocks.account_id}:secret:rds!{physical}-AbCdEf",
                "kmsKeyId": inputs.get("masterUserSecretKmsKeyId") or "",
                "secretStatus": "active",
            }
        ]
    return computed


def _rds_proxy(mocks: AwsMocks, physical: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    name = inputs.get("name") or physical
    return {
        "name": name,
        "arn": f"arn:aws:rds:{mocks.region}:{mocks.account_id}:db-proxy:prx-{_digest(physical)[:17]}",
        "endpoint": f"{name}.proxy-c0ffee0ffline.{mocks.region}.rds.amazonaws.com",
    }


def _rds_proxy_target_group(_: AwsMocks, __: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": "default", "arn": f"{inputs.get('dbProxyName', '')}:target-group:default"}


def _s3_object(_: AwsMocks, physical: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    key = str(inputs.get("key") or physical)
    return {"versionId": _digest(f"{inputs.get('bucket')}/{key}")[:32], "etag": _digest(key)[:32]}


def _event_rule(mocks: AwsMocks, physical: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    name = inputs.get("name") or physical
    return {"name": name, "arn": f"arn:aws:events:{mocks.region}:{mocks.account_id}:rule/{name}"}


def _kms_key(mocks: AwsMocks, physical: str, _: Mapping[str, Any]) -> dict[str, Any]:
    key_id = _uuid_like(physical)
    return {"keyId": key_id, "arn": f"arn:aws:kms:{mocks.region}:{mocks.account_id}:key/{key_id}"}


def _kms_alias(mocks: AwsMocks, physical: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    name = inputs.get("name") or f"alias/{physical}"
    return {
        "arn": f"arn:aws:kms:{mocks.region}:{mocks.account_id}:{name}",
        "targetKeyArn": inputs.get("targetKeyId", ""),
    }


def _s3_bucket(_: AwsMocks, physical: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    bucket = inputs.get("bucket") or physical
    return {
        "bucket": bucket,
        "arn": f"arn:aws:s3:::{bucket}",
        "bucketDomainName": f"{bucket}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{bucket}.s3.us-east-1.amazonaws.com",
    }


def _log_group(mocks: AwsMocks, physical: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    name = inputs.get("name") or physical
    return {"name": name, "arn": f"arn:aws:logs:{mocks.region}:{mocks.account_id}:log-group:{name}"}


def _iam_role(mocks: AwsMocks, physical: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    name = inputs.get("name") or physical
    return {
        "name": name,
        "arn": f"arn:aws:iam::{mocks.account_id}:role/{name}",
        "uniqueId": "AROA" + _digest(name)[:17].upper(),
    }


def _iam_policy(mocks: AwsMocks, physical: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    name = inputs.get("name") or physical
    return {"name": name, "arn": f"arn:aws:iam::{mocks.account_id}:policy/{name}"}


def _vpc_endpoint(mocks: AwsMocks, physical: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    service = str(inputs.get("serviceName", ""))
    return {
        "prefixListId": "pl-" + _digest(service)[:8] if inputs.get("vpcEndpointType") == "Gateway" else None,
        "dnsEntries": [{"dnsName": f"{physical}.{service}.vpce.amazonaws.com", "hostedZoneId": "Z7HUB22UULQXV"}],
        "arn": f"arn:aws:ec2:{mocks.region}:{mocks.account_id}:vpc-endpoint/{physical}",
    }


def _ssm_parameter(mocks: AwsMocks, physical: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    name = str(inputs.get("name") or physical)
    return {"name": name, "arn": f"arn:aws:ssm:{mocks.region}:{mocks.account_id}:parameter{name}", "version": 1}


def _secret(mocks: AwsMocks, physical: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    name = inputs.get("name") or physical
    return {"arn": f"arn:aws:secretsmanager:{mocks.region}:{mocks.account_id}:secret:{name}-AbCdEf"}


def _random_password(_: AwsMocks, physical: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    length = int(inputs.get("length") or 32)
    return {"result": (_digest(physical) * 4)[:length], "bcryptHash": "$2a$10$" + _digest(physical)[:53]}


def _sqs_queue(mocks: AwsMocks, physical: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    name = inputs.get("name") or physical
    return {
        "name": name,
        "arn": f"arn:aws:sqs:{mocks.region}:{mocks.account_id}:{name}",
        "url": f"https://sqs.{mocks.region}.amazonaws.com/{mocks.account_id}/{name}",
    }


def _lambda_function(mocks: AwsMocks, physical: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    name = inputs.get("name") or physical
    arn = f"arn:aws:lambda:{mocks.region}:{mocks.account_id}:function:{name}"
    return {
        "name": name,
        "arn": arn,
        "qualifiedArn": f"{arn}:1",
        "version": "1",
        "invokeArn": f"arn:aws:apigateway:{mocks.region}:lambda:path/2015-03-31/functions/{arn}/invocations",
    }


def _lambda_alias(mocks: AwsMocks, physical: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    function = str(inputs.get("functionName") or physical)
    arn = f"arn:aws:lambda:{mocks.region}:{mocks.account_id}:function:{function}:{inputs.get('name') or physical}"
    return {
        "arn": arn,
        "invokeArn": f"arn:aws:apigateway:{mocks.region}:lambda:path/2015-03-31/functions/{arn}/invocations",
    }


def _acm_certificate(mocks: AwsMocks, physical: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    domain = str(inputs.get("domainName") or physical)
    token = _digest(domain)[:32]
    return {
        "arn": f"arn:aws:acm:{mocks.region}:{mocks.account_id}:certificate/{_uuid_like(domain)}",
        "domainValidationOptions": [
            {
                "domainName": domain,
                "resourceRecordName": f"_{token}.{domain}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": f"_{token[::-1]}.acm-validations.aws.",
            }
        ],
    }


def _api_domain_name(mocks: AwsMocks, physical: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "regionalDomainName": f"d-{_digest(physical)[:10]}.execute-api.{mocks.region}.amazonaws.com",
        "regionalZoneId": "Z1UJRXOUMOOFQ8",
        "arn": f"arn:aws:apigateway:{mocks.region}::/domainnames/{inputs.get('domainName') or physical}",
    }


def _route53_record(_: AwsMocks, physical: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {"fqdn": str(inputs.get("name") or physical).rstrip(".")}


def _rest_api(mocks: AwsMocks, physical: str, _: Mapping[str, Any]) -> dict[str, Any]:
    api_id = _digest(physical)[:10]
    return {
        "rootResourceId": _digest(api_id)[:10],
        "executionArn": f"arn:aws:execute-api:{mocks.region}:{mocks.account_id}:{api_id}",
        "arn": f"arn:aws:apigateway:{mocks.region}::/restapis/{api_id}",
    }


def _sns_topic(mocks: AwsMocks, physical: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    name = inputs.get("name") or physical
    return {"name": name, "arn": f"arn:aws:sns:{mocks.region}:{mocks.account_id}:{name}"}


_COMPUTED: dict[str, ComputedFn] = {
    "aws:rds/instance:Instance": _rds_instance,
    "aws:rds/proxy:Proxy": _rds_proxy,
    "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup": _rds_proxy_target_group,
    "aws:s3/bucketObjectv2:BucketObjectv2": _s3_object,
    "aws:cloudwatch/eventRule:EventRule": _event_rule,
    "aws:kms/key:Key": _kms_key,
    "aws:kms/alias:Alias": _kms_alias,
    "aws:s3/bucket:Bucket": _s3_bucket,
    "aws:s3/bucketV2:BucketV2": _s3_bucket,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:iam/role:Role": _iam_role,
    "aws:iam/policy:Policy": _iam_policy,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "aws:ssm/parameter:Parameter": _ssm_parameter,
    "aws:secretsmanager/secret:Secret": _secret,
    "random:index/randomPassword:RandomPassword": _random_password,
    "aws:sqs/queue:Queue": _sqs_queue,
    "aws:lambda/function:Function": _lambda_function,
    "aws:apigateway/restApi:RestApi": _rest_api,
    "aws:lambda/alias:Alias": _lambda_alias,
    "aws:acm/certificate:Certificate": _acm_certificate,
    "aws:apigateway/domainName:DomainName": _api_domain_name,
    "aws:route53/record:Record": _route53_record,
    "aws:sns/topic:Topic": _sns_topic,
}


def _policy_document(args: dict[str, Any]) -> dict[str, Any]:
    """Render ``aws.iam.get_policy_document`` arguments to IAM JSON, as the provider does."""
    statements = []
    for raw in args.get("statements") or []:
        statement: dict[str, Any] = {}
        if raw.get("sid"):
            statement["Sid"] = raw["sid"]
        statement["Effect"] = raw.get("effect") or "Allow"
        for source, target in (
            ("actions", "Action"),
            ("notActions", "NotAction"),
            ("resources", "Resource"),
            ("notResources", "NotResource"),
        ):
            if raw.get(source):
                values = list(raw[source])
                statement[target] = values[0] if len(values) == 1 else values
        for source, target in (("principals", "Principal"), ("notPrincipals", "NotPrincipal")):
            if raw.get(source):
                principal: dict[str, Any] = {}
                for entry in raw[source]:
                    identifiers = list(entry.get("identifiers") or [])
                    principal[entry["type"]] = identifiers[0] if len(identifiers) == 1 else identifiers
                statement[target] = principal
        if raw.get("conditions"):
            condition: dict[str, dict[str, Any]] = {}
            for entry in raw["conditions"]:
                values = list(entry.get("values") or [])
                condition.setdefault(entry["test"], {})[entry["variable"]] = values[0] if len(values) == 1 else values
            statement["Condition"] = condition
        statements.append(statement)
    statements = _merged_statements(args, statements)
    document: dict[str, Any] = {"Version": args.get("version") or "2012-10-17"}
    if args.get("policyId"):
        document["Id"] = args["policyId"]
    document["Statement"] = statements
    return {
        "json": json.dumps(document, indent=2),
        "minifiedJson": json.dumps(document, separators=(",", ":")),
        "id": _digest(json.dumps(document)),
    }


def _merged_statements(args: Mapping[str, Any], own: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Source documents first, then the document's own statements, then override documents, as the
    provider merges them: a later statement replaces an earlier one with the same Sid."""

    def statements_of(documents: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for text in documents or []:
            try:
                parsed = json.loads(text)
            except (TypeError, ValueError):
                continue
            body = parsed.get("Statement", []) if isinstance(parsed, dict) else []
            found += [body] if isinstance(body, dict) else [s for s in body if isinstance(s, dict)]
        return found

    merged: list[dict[str, Any]] = []
    for statement in [*statements_of(args.get("sourcePolicyDocuments")), *own]:
        merged = [s for s in merged if not statement.get("Sid") or s.get("Sid") != statement["Sid"]]
        merged.append(statement)
    for statement in statements_of(args.get("overridePolicyDocuments")):
        replaced = False
        for index, existing in enumerate(merged):
            if statement.get("Sid") and existing.get("Sid") == statement["Sid"]:
                merged[index], replaced = statement, True
        if not replaced:
            merged.append(statement)
    return merged


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _uuid_like(text: str) -> str:
    d = _digest(text)
    return f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:32]}"


def _service_of(type_token: str) -> str:
    package, _, rest = type_token.partition(":")
    module = rest.split("/", 1)[0] if "/" in rest else rest.split(":", 1)[0]
    return module.rstrip("_") if package == "aws" else package


def _kind_of(type_token: str) -> str:
    return type_token.rsplit(":", 1)[-1].lower()


_NAME_INPUTS = ("name", "identifier", "dashboardName", "layerName")
_LAMBDA_ALIAS = "aws:lambda/alias:Alias"
_OWN_NAME_INPUT = {"aws:s3/bucket:Bucket": "bucket", "aws:s3/bucketV2:BucketV2": "bucket"}


def _physical_name(type_token: str, logical: str, inputs: Mapping[str, Any]) -> str:
    """The name AWS would know the resource by: an explicit name input, else a Pulumi auto-name.

    Only inputs that name the resource itself count: a bucket policy's ``bucket`` names its bucket.
    """
    if type_token == _LAMBDA_ALIAS and inputs.get("functionName") and inputs.get("name"):
        return f"{inputs['functionName']}:{inputs['name']}"  # an alias name is unique only per function
    keys = (_OWN_NAME_INPUT[type_token],) if type_token in _OWN_NAME_INPUT else _NAME_INPUTS
    for key in keys:
        value = inputs.get(key)
        if isinstance(value, str) and value:
            return value
    return f"{logical}-{_digest(type_token + logical)[:7]}"


def _source_position(request: Any) -> dict[str, Any] | None:
    """The SDK's ``sourcePosition`` of a registration (the program line that created the resource)."""
    try:
        if not request.HasField("sourcePosition"):
            return None
    except ValueError:  # a monitor protocol without the field
        return None
    position = request.sourcePosition
    return {"uri": str(position.uri), "line": int(position.line)} if position.uri else None
