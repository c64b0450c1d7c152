"""What the local Lambda runtime runs: one :class:`FunctionSpec` per function of the blueprint.

The handler, timeout, memory, concurrency and environment variables are the program's
(:class:`local.blueprint.FunctionBlueprint`); only what points at AWS is pointed at the local stand-ins:
the program's queue URLs and ARNs and secret ARNs in an environment variable become the local ones,
and the platform's variables (moto's endpoint, dummy credentials, the database CA) are added.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from local.blueprint import Blueprint, FunctionBlueprint
from local.runtime import FunctionSpec


class SpecError(ValueError):
    """A function cannot run locally as declared; the message names the function and why."""


def concurrency_of(function: FunctionBlueprint) -> int:
    """The environments the local pool may hold: the reserved concurrency the program sets.

    A function without a reservation would share the account's unreserved pool; locally it runs one
    environment at a time. :func:`local.machine.fit_to_machine` has already capped large reservations.
    """
    if function.reserved_concurrency == 0:
        raise SpecError(f"{function.name} reserves 0 concurrency: Lambda throttles every invocation of it")
    return function.reserved_concurrency or 1


def localized(environment: Mapping[str, str], references: Mapping[str, str]) -> dict[str, str]:
    """``environment`` with every value that names a program resource replaced by the local one."""
    return {name: references.get(value, value) for name, value in environment.items()}


def function_specs(
    blueprint: Blueprint,
    *,
    code_paths: tuple[Path, ...] | None,
    platform_environment: Mapping[str, str],
    references: Mapping[str, str],
    log_dir: Path | None = None,
    handlers: Mapping[str, str] | None = None,
    packaged: Callable[[str], tuple[Path, ...]] | None = None,
    role_environments: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, FunctionSpec]:
    """One spec per function, by workload key; ``handlers`` (key -> handler) runs other code.

    With ``packaged`` (runtime -> import paths of the archives laid out for it) a function runs on
    the Python its runtime names, as Lambda runs it; with ``code_paths`` instead it runs those paths
    on this interpreter. ``role_environments`` (role name -> credentials and endpoint) makes each
    function call AWS as its declared role.
    """
    if (code_paths is None) == (packaged is None):
        raise SpecError("give either the packaged archives or code paths of your own, not both or neither")
    specs: dict[str, FunctionSpec] = {}
    for function in blueprint.functions:
        role = dict((role_environments or {}).get(function.role_name, {}))
        specs[function.key] = FunctionSpec(
            name=function.name,
            handler=(handlers or {}).get(function.key, function.handler),
            timeout_s=function.timeout_s,
            memory_mb=function.memory_mb,
            concurrency=concurrency_of(function),
            code_paths=packaged(function.runtime) if packaged is not None else code_paths or (),
            environment={**platform_environment, **role, **localized(function.environment, references)},
            region=blueprint.region,
            log_path=log_dir / f"{function.key}.log" if log_dir else None,
            runtime=function.runtime if packaged is not None else None,
            alias=function.alias,
        )
    return specs
