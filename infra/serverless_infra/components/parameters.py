"""The SSM parameter hierarchy, created exactly as :mod:`contract.parameters` defines it.

One parameter per stored parameter (:data:`contract.parameters.STORED_PARAMETERS`): a category's
settings document, whose value is the JSON object of its settings' values (resolved from resources
where they come from resources), and each sensitive setting alone. Every parameter is a
SecureString encrypted with its category's key, so reading a category needs both the IAM grant on
its path and the key policy's consent. Generated secrets are created here and never leave Pulumi
state except as secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from contract.parameters import (
    PARAMETERS,
    STORED_PARAMETERS,
    Category,
    ParameterSpec,
    Source,
    StoredParameter,
    category_path,
    encode_document,
)
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


def qualifier(category: Category, name: str) -> str:
    """The name qualifier of a parameter or a generated secret, e.g. ``database-settings``."""
    return f"{category.value}-{name.replace('_', '-')}"


class Parameters(pulumi.ComponentResource):
    """All parameters of /{prefix}/{env}/."""

    parameters: dict[str, aws.ssm.Parameter]

    def __init__(self, name: str, args: ParametersArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("serverless-infra:index:Parameters", name, None, opts)
        _check_values(args.values)
        child = pulumi.ResourceOptions(parent=self)
        self.parameters = {}
        for stored in STORED_PARAMETERS:
            value = self._value(args, stored)
            self.parameters[f"{stored.category.value}/{stored.name}"] = aws.ssm.Parameter(
                args.namer.name("parameter", qualifier(stored.category, stored.name)),
                name=stored.path(args.prefix, args.environment),
                description=stored.description,
                type="SecureString",
                key_id=args.key_arns[stored.category],
                value=pulumi.Output.secret(value) if stored.sensitive else value,
                tier="Standard",  # values up to 4 KB: contract.limits.SSM_STANDARD_VALUE_MAX_BYTES
                tags=backup_tag("ssm-parameter-history"),
                opts=child,
            )
        self.paths = {category: category_path(args.prefix, args.environment, category) for category in Category}
        self.register_outputs({"paths": {c.value: p for c, p in self.paths.items()}})

    def _value(self, args: ParametersArgs, stored: StoredParameter) -> pulumi.Input[str]:
        """A document's JSON text once its settings' values are known; a setting stored alone, its value."""
        values = {spec.name: self._setting_value(args, spec) for spec in stored.settings}
        if not stored.document:
            return values[stored.settings[0].name]
        return pulumi.Output.all(**values).apply(encode_document)

    def _setting_value(self, args: ParametersArgs, spec: ParameterSpec) -> pulumi.Input[str]:
        if spec.source is Source.GENERATED:
            return self._generated(args.namer, qualifier(spec.category, spec.name))
        return args.values[spec_key(spec)]

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
