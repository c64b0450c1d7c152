"""Fitting a stack's blueprint to one machine: what it cannot hold is scaled down, and said so.

A function's reserved concurrency is how many execution environments Lambda may run at once; here
each environment is a process, and a production reservation (hundreds) would exhaust this machine
long before it served a request. The program's values stay in the program; only the local copy of
the blueprint is scaled, and every change is a note the stack prints at start.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from local.blueprint import Blueprint, FunctionBlueprint, MappingBlueprint

MAX_ENVIRONMENTS: Final = 32  # execution environments (processes) one function may hold on this machine


def fit_to_machine(blueprint: Blueprint, max_environments: int = MAX_ENVIRONMENTS) -> Blueprint:
    """``blueprint`` with what one machine cannot run scaled down, each change said in ``notes``.

    Reserved concurrency and an event source mapping's maximum concurrency above
    ``max_environments`` are capped to it (each environment is a process here). Provisioned
    concurrency is not pre-initialised locally: environments start on demand, as unprovisioned
    ones do on Lambda (https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html).
    """
    if max_environments < 1:
        raise ValueError(f"max_environments must be at least 1, got {max_environments}")
    notes = list(blueprint.notes)
    functions: list[FunctionBlueprint] = []
    for function in blueprint.functions:
        reserved = function.reserved_concurrency
        if reserved is not None and reserved > max_environments:
            notes.append(
                f"{function.name}: reserved concurrency {reserved} capped to {max_environments} local environments"
            )
            function = dataclasses.replace(function, reserved_concurrency=max_environments)
        if function.provisioned_concurrency:
            notes.append(
                f"{function.name}: provisioned concurrency {function.provisioned_concurrency} is not pre-initialised "
                "locally; environments start on demand"
            )
            function = dataclasses.replace(function, provisioned_concurrency=0)
        functions.append(function)
    mappings: list[MappingBlueprint] = []
    for mapping in blueprint.mappings:
        maximum = mapping.maximum_concurrency
        if maximum is not None and maximum > max_environments:
            notes.append(
                f"event source mapping {mapping.queue_name} -> {mapping.function_name}: maximum concurrency "
                f"{maximum} capped to {max_environments}"
            )
            mapping = dataclasses.replace(mapping, maximum_concurrency=max_environments)
        mappings.append(mapping)
    return dataclasses.replace(blueprint, functions=tuple(functions), mappings=tuple(mappings), notes=tuple(notes))
