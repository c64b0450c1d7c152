"""The local stack's functions and routes are the program's: same handlers, sizes, variables, keys."""

from __future__ import annotations

from local import settings as settings_module
from local.functions import function_specs
from local.routes import METHODS
from tests.unit.support import PROJECT_ROOT

FUNCTION = "aws:lambda/function:Function"
DERIVED_FROM_RESOURCES = {"ORDERS_QUEUE_URL", "DB_MASTER_SECRET_ARN", "DEAD_LETTER_QUEUE_URL"}


def test_functions_have_the_programs_handler_size_and_environment(stack_run):
    settings = settings_module.load(PROJECT_ROOT, stack_run.stack)
    specs = function_specs(
        settings,
        code_paths=(PROJECT_ROOT,),
        queue_url="queue-url",
        master_secret_arn="secret-arn",
        platform_environment={},
        dead_letter_queue_url="dead-letter-queue-url",
    )
    deployed = {record.inputs["name"]: record.inputs for record in stack_run.of_type(FUNCTION)}
    assert set(deployed) == {spec.name for spec in specs.values()}
    for spec in specs.values():
        program = deployed[spec.name]
        assert spec.handler == program["handler"]
        assert spec.timeout_s == program["timeout"]
        assert spec.memory_mb == program["memorySize"]
        assert spec.concurrency == program["reservedConcurrentExecutions"]
        variables = program["environment"]["variables"]
        assert set(spec.environment) == set(variables)
        for name in set(variables) - DERIVED_FROM_RESOURCES:
            assert spec.environment[name] == variables[name], name


def _program_methods(run):
    resources = {r.id: r for r in run.of_type("aws:apigateway/resource:Resource")}

    def path_of(resource_id):
        resource = resources.get(resource_id)
        if resource is None:
            return ""
        return f"{path_of(resource.inputs['parentId'])}/{resource.inputs['pathPart']}"

    return {
        (path_of(m.inputs["resourceId"]), m.inputs["httpMethod"], m.inputs["apiKeyRequired"])
        for m in run.of_type("aws:apigateway/method:Method")
    }


def test_routes_and_key_requirements_are_the_programs(stack_run):
    local = {(method.resource, method.http_method, method.api_key) for method in METHODS}
    assert local == _program_methods(stack_run)
