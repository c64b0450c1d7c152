"""Complete, plausible answers for provider invokes (data sources), derived from the SDK's result types.

A provider SDK describes every invoke's result as a class, ``<package>.<module>.<function>`` →
``Get<Function>Result`` (``aws:route53/getZone:getZone`` → ``pulumi_aws.route53.get_zone.GetZoneResult``),
whose property getters carry the wire name and the type of each field. Every field gets a value of
its type: the invoke's own argument of that name when it has one (``get_zone(name=...)`` answers with
that name), else a deterministic value shaped by the field's name (ARNs, IDs with the right prefix,
dates, URLs), nested result types filled the same way and lists holding one element, so a program
that reads any field (or the first element of a list) gets a value rather than ``None``.
"""

from __future__ import annotations

import collections.abc
import hashlib
import importlib
import json
import re
import types
import typing
from collections.abc import Mapping
from typing import Any

from pulumi import _types as pulumi_types

MAX_DEPTH = 4
_ID_PREFIXES = {
    "ami": "ami-",
    "image": "ami-",
    "vpc": "vpc-",
    "subnet": "subnet-",
    "securitygroup": "sg-",
    "routetable": "rtb-",
    "internetgateway": "igw-",
    "natgateway": "nat-",
    "networkinterface": "eni-",
    "snapshot": "snap-",
    "volume": "vol-",
    "instance": "i-",
    "vpcendpoint": "vpce-",
    "prefixlist": "pl-",
    "transitgateway": "tgw-",
    "keypair": "key-",
    "launchtemplate": "lt-",
    "networkacl": "acl-",
}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def result_class(token: str) -> type | None:
    """The SDK's result class for an invoke token, when the provider's SDK is importable."""
    package, _, rest = token.partition(":")
    module, _, function = rest.partition(":")
    if not package or not function:
        return None
    module_path = module.split("/", 1)[0]
    base = f"pulumi_{package.replace('-', '_')}"
    modules = [base] if module_path == "index" else [f"{base}.{module_path.replace('-', '_')}", base]
    for candidate in modules:
        try:
            found = importlib.import_module(f"{candidate}.{_snake(function)}")
        except ImportError:
            continue
        cls = getattr(found, f"{function[:1].upper()}{function[1:]}Result", None)
        if isinstance(cls, type):
            return cls
    return None


class _Context:
    def __init__(self, token: str, args: Mapping[str, Any], region: str, account_id: str) -> None:
        self.token, self.region, self.account_id = token, region, account_id
        self.seed = hashlib.sha256(f"{token}{json.dumps(args, sort_keys=True, default=str)}".encode()).hexdigest()
        module = token.partition(":")[2].split("/", 1)[0]
        self.service = "ec2" if module in ("index", "") else module
        function = token.rsplit(":", 1)[-1]
        self.kind = function[3:].lower() if function.startswith("get") else function.lower()
        self.name = str(args.get("name") or f"offline-{self.kind}")

    def digest(self, salt: str, length: int) -> str:
        return hashlib.sha256(f"{self.seed}{salt}".encode()).hexdigest()[:length]


def synthesized_result(token: str, args: Mapping[str, Any], *, region: str, account_id: str) -> dict[str, Any] | None:
    """Every field of the invoke's result type with a plausible value; None without an SDK type."""
    cls = result_class(token)
    if cls is None:
        return None
    context = _Context(token, args, region, account_id)
    return _fill(cls, args, context, 0)


def _hints(cls: type) -> dict[str, Any]:
    try:
        return pulumi_types._raw_return_hints(cls)
    except Exception:  # an SDK type whose annotations do not resolve: no fields rather than a crash
        return {}


def _fill(cls: type, args: Mapping[str, Any], context: _Context, depth: int) -> dict[str, Any]:
    result = {}
    for name, hint in _hints(cls).items():
        if name in args and args[name] is not None:
            result[name] = args[name]
        else:
            result[name] = _value(name, hint, context, depth)
    return result


def _value(name: str, hint: Any, context: _Context, depth: int) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return _value(name, members[0], context, depth) if members else None
    if origin in (list, collections.abc.Sequence, collections.abc.MutableSequence):
        (element,) = typing.get_args(hint) or (str,)
        return [_value(_singular(name), element, context, depth + 1)] if depth < MAX_DEPTH else []
    if origin in (dict, collections.abc.Mapping, collections.abc.MutableMapping):
        return {}
    if hint is bool:
        return False
    if hint is int:
        return 1
    if hint is float:
        return 1.0
    if hint is str:
        return _string(name, context)
    if isinstance(hint, type) and pulumi_types.is_output_type(hint):
        return _fill(hint, {}, context, depth + 1) if depth < MAX_DEPTH else {}
    return None


def _singular(name: str) -> str:
    return name[:-1] if name.endswith("s") and not name.endswith("ss") else name


def _string(name: str, context: _Context) -> str:
    lower = name.lower()
    region, account = context.region, context.account_id
    if lower == "arn" or lower.endswith("arn"):
        return f"arn:aws:{context.service}:{region}:{account}:{context.kind}/{context.name}"
    if lower in ("region", "regionname"):
        return region
    if lower in ("accountid", "ownerid", "owner"):
        return account
    if lower in ("id", "resourceid") or lower.endswith("id"):
        return _identifier(lower, context)
    if lower in ("name", "functionname", "bucket", "rolename", "username"):
        return context.name
    if "date" in lower or lower.endswith("time") or lower.endswith("at"):
        return "2024-01-01T00:00:00Z"
    if lower.endswith("json") or lower in ("policy", "document", "assumerolepolicy"):
        return json.dumps({"Version": "2012-10-17", "Statement": []})
    if "url" in lower or "endpoint" in lower:
        return f"https://{context.kind}.{region}.amazonaws.com"
    if "domain" in lower or lower.endswith("dnsname") or lower == "fqdn":
        return f"{context.name}.example.com"
    if lower.endswith("cidrblock") or lower.endswith("cidr"):
        return "10.0.0.0/16"
    if lower in ("state", "status"):
        return "available"
    if lower == "architecture":
        return "x86_64"
    if lower.endswith("version"):
        return "1"
    return f"offline-{_snake(name).replace('_', '-')}"


def _identifier(lower: str, context: _Context) -> str:
    stem = lower[: -len("id")] if lower.endswith("id") else lower
    if stem in ("", "resource"):
        stem = _singular(context.kind)
    if stem in ("zone", "hostedzone"):
        return "Z" + context.digest(lower, 20).upper()
    if stem in ("keyid", "kmskey", "key"):
        d = context.digest(lower, 32)
        return f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:32]}"
    for kind, prefix in _ID_PREFIXES.items():
        if stem.endswith(kind):
            return prefix + context.digest(lower, 17)
    return context.digest(lower, 20)
