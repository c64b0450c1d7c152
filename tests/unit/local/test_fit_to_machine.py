"""What one machine cannot hold is scaled down, and every change is said in the blueprint's notes."""

from __future__ import annotations

import re

import pytest

from local.blueprint import Blueprint, FunctionBlueprint, MappingBlueprint
from local.machine import fit_to_machine
from local.scheduler import ScheduleExpressionError, interval_of
from local.spec import localized


def function(name: str, reserved: int | None, provisioned: int = 0) -> FunctionBlueprint:
    return FunctionBlueprint(
        key=name, name=name, handler="h.handler", runtime="python3.12", architecture="arm64", timeout_s=3,
        memory_mb=128, reserved_concurrency=reserved, environment={}, layers=(), role_name="r", alias="live",
        provisioned_concurrency=provisioned,
    )  # fmt: skip


def blueprint(*functions: FunctionBlueprint, maximum: int | None = None) -> Blueprint:
    mapping = MappingBlueprint("worker", "queue", 10, 0, ("ReportBatchItemFailures",), maximum)
    api = None
    return Blueprint(
        project="p", stack="prod", environment="prod", region="us-east-1", account_id="1", functions=functions,
        queues=(), mappings=(mapping,), schedules=(), parameters=(), keys=(), roles=(), buckets=(),
        api=api, database=None,  # type: ignore[arg-type]
    )  # fmt: skip


def test_given_a_reservation_above_the_machine_then_it_is_capped_and_noted():
    fitted = fit_to_machine(blueprint(function("api", 1100)), max_environments=8)
    assert fitted.function("api").reserved_concurrency == 8
    assert any("api" in note and "1100" in note and "8" in note for note in fitted.notes)


def test_given_reservations_within_the_machine_then_nothing_changes_and_nothing_is_noted():
    original = blueprint(function("api", 5), function("worker", None))
    assert fit_to_machine(original, max_environments=8) == original


def test_given_provisioned_concurrency_then_environments_start_on_demand_and_it_is_noted():
    fitted = fit_to_machine(blueprint(function("api", 4, provisioned=2)), max_environments=8)
    assert fitted.function("api").provisioned_concurrency == 0
    assert any("provisioned" in note for note in fitted.notes)


def test_given_a_mapping_maximum_above_the_machine_then_it_is_capped_and_noted():
    fitted = fit_to_machine(blueprint(function("worker", 2), maximum=20), max_environments=8)
    assert fitted.mappings[0].maximum_concurrency == 8
    assert len(fitted.notes) == 1


def test_given_no_room_for_one_environment_then_fitting_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        fit_to_machine(blueprint(function("api", 1)), max_environments=0)


@pytest.mark.parametrize(
    ("expression", "seconds"), [("rate(5 minutes)", 300), ("rate(1 hour)", 3600), ("rate(2 days)", 172_800)]
)
def test_given_a_rate_expression_then_its_interval_is_in_seconds(expression, seconds):
    assert interval_of(expression) == seconds


@pytest.mark.parametrize("expression", ["rate(1 minutes)", "rate(5 minute)", "rate(0 minutes)", "cron(0 12 * * ? *)"])
def test_given_an_expression_eventbridge_or_the_local_scheduler_refuses_then_the_error_names_it(expression):
    with pytest.raises(ScheduleExpressionError, match=re.escape(repr(expression))):
        interval_of(expression)


def test_given_an_environment_naming_a_program_queue_then_it_names_the_local_one():
    program, local = "https://sqs.us-east-1.amazonaws.com/1/q", "http://127.0.0.1:5000/1/q"
    assert localized({"QUEUE_URL": program, "OTHER": "x"}, {program: local}) == {"QUEUE_URL": local, "OTHER": "x"}
