"""The SSM parameter hierarchy, created exactly as :mod:`contract.parameters` defines it.

Every parameter is a SecureString encrypted with its category's key, so reading a category needs
both the IAM grant on its path and the key policy's consent. Generated secrets are created here
and never leave Pulumi state except as secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from contract.parameters import PARAMETERS, Category, ParameterSpec, Source, category_path
from serverless_infra.naming import Namer, backup_tag


class ParameterValuesError(ValueError):
    """The values handed to the component do not match the hierarchy definition."""


@dataclass(frozen=True)
class ParametersArgs:
    namer: Namer
    prefix: str
    environment: str
    key_arns: Mapping[Category, pulumi.Input[str]]
    values: Mapping[str, pulumi.Input[str]]  # "category/name" -> value, for RESOURCE and CONFIG sources


def spec_key(spec: ParameterSpec) -> str:
    return f"{spec.category.value}/{spec.name}"


class Parameters(pulumi.ComponentResource):
    """All parameters of /{prefix}/{env}/."""

    parameters: dict[str, aws.ssm.Parameter]

    def __init__(self, name: str, args: ParametersArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-infra:index:Parameters", name, None, opts)
        _check_values(args.values)
        child = pulumi.ResourceOptions(parent=self)
        self.parameters = {}
        for spec in PARAMETERS:
            qualifier = f"{spec.category.value}-{spec.name.replace('_', '-')}"
            value = (
                self._generated(args.namer, qualifier)
                if spec.source is Source.GENERATED
                else args.values[spec_key(spec)]
            )
            self.parameters[spec_key(spec)] = aws.ssm.Parameter(
                args.namer.name("parameter", qualifier),
                name=spec.path(args.prefix, args.environment),
                description=spec.description,
                type="SecureString",
                key_id=args.key_arns[spec.category],
                value=pulumi.Output.secret(value) if spec.sensitive else value,
                tier="Standard",
                tags=backup_tag("ssm-parameter-history"),
                opts=child,
            )
        self.paths = {category: category_path(args.prefix, args.environment, category) for category in Category}
        self.register_outputs({"paths": {c.value: p for c, p in self.paths.items()}})

    def _generated(self, namer: Namer, qualifier: str) -> pulumi.Output[str]:
        secret = random.RandomPassword(
            namer.name("secret", qualifier),
            length=40,
            special=False,  # safe in connection strings and headers without escaping
            opts=pulumi.ResourceOptions(parent=self),
        )
        return secret.result


def _check_values(values: Mapping[str, object]) -> None:
    expected = {spec_key(spec) for spec in PARAMETERS if spec.source is not Source.GENERATED}
    missing, unexpected = expected - set(values), set(values) - expected
    if missing or unexpected:
        raise ParameterValuesError(
            "parameter values do not match contract.parameters: "
            f"missing {sorted(missing)}, unexpected {sorted(unexpected)}"
        )
