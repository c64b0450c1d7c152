"""Stacks differ only by configuration: the environment name changes names and tags, nothing else."""

from __future__ import annotations

import json

from offline.harness import run_program
from tests.unit.support import PROJECT_ROOT, plain


def computed_values(run):
    """Values AWS assigns (ids, ARNs, endpoints) mapped to a placeholder naming their resource."""
    placeholders = {}
    for record in run.resources:
        label = record.name.replace(f"-{run.stack}-", "-<env>-")
        placeholders[record.id] = f"<{label}.id>"
        for key, value in record.outputs.items():
            if isinstance(value, str) and key not in record.inputs and len(value) > 8:
                placeholders[value] = f"<{label}.{key}>"
                if key == "arn" and value.rsplit(":", 1)[-1].startswith("prx-"):  # a proxy's resource id
                    placeholders[value.rsplit(":", 1)[-1]] = f"<{label}.resourceId>"
    return placeholders


def normalised(run):
    """Every resource's type, name and inputs, with the environment name replaced by a placeholder."""
    env = run.stack
    text = json.dumps(
        sorted(
            (
                r.type,
                r.name,
                {k: plain(v) for k, v in r.inputs.items() if k != "tags"},
                dict((r.inputs.get("tags") or {}).items()),
            )
            for r in run.resources
        ),
        sort_keys=True,
        default=lambda value: getattr(value, "path", None) or str(value),  # assets by path, not by address
    )
    for value, placeholder in sorted(computed_values(run).items(), key=lambda item: -len(item[0])):
        text = text.replace(value, placeholder)
    for pattern in (f"-{env}-", f"/{env}/", f'"{env}"', f"-{env}:", f"-{env}."):
        text = text.replace(pattern, pattern.replace(env, "<env>"))
    return json.loads(text)


def test_dev_code_with_prod_config_builds_exactly_prod(runs):
    prod = runs["prod"]
    as_prod = {key: value for key, value in prod.config.values.items() if key != "serverless-infra:environment"}
    dev_program_with_prod_values = run_program(
        PROJECT_ROOT, "dev", config=prod.config.with_overrides({**as_prod, "serverless-infra:environment": "dev"})
    )
    assert normalised(dev_program_with_prod_values) == normalised(prod)


def test_the_shipped_stacks_really_differ(runs):
    assert normalised(runs["dev"]) != normalised(runs["prod"])


def test_stack_files_set_only_keys_the_schema_declares(runs):
    declared = set(runs["dev"].project.config_schema) | {"aws:region"}
    for run in runs.values():
        assert set(run.config.values) <= declared, run.stack
