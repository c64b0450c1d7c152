"""The cost model prices what the program registers, and prod fits its budget."""

from __future__ import annotations

import json

import pytest

from costmodel.estimate import Resource, TrafficProfile, estimate, max_sustained_requests_per_minute, rest_api_requests
from offline.cost import main as cost_main
from offline.cost import profile_of, resources_of


def cost_args(archive_overrides, *extra):
    return [*(f"--config={k}={v}" for k, v in archive_overrides.items()), *extra]


@pytest.fixture(scope="module")
def prod(runs):
    run = runs["prod"]
    resources = resources_of(run)
    return run, resources, estimate(resources, profile_of(run.config.values))


def test_prod_with_the_shipped_configuration_is_under_500_dollars(prod):
    _, _, result = prod
    assert 300 < result.total < 500


def test_every_line_is_positive_and_named(prod):
    _, _, result = prod
    assert all(line.monthly_usd >= 0 and line.resource and line.service for line in result.lines)


def test_the_estimate_follows_the_registered_resources(prod):
    _, resources, result = prod
    without_endpoints = [r for r in resources if r.type != "aws:ec2/vpcEndpoint:VpcEndpoint"]
    assert estimate(without_endpoints, result.profile).total < result.total - 50


def test_sustained_10000_requests_per_minute_cost_about_1450_in_rest_api_requests_alone():
    monthly = TrafficProfile().sustained(10_000).monthly_requests
    assert rest_api_requests(monthly) == pytest.approx(1450, abs=15)


def test_the_highest_sustained_rate_is_where_the_budget_runs_out(prod):
    _, resources, result = prod
    rate = max_sustained_requests_per_minute(resources, result.profile, 500)
    assert estimate(resources, result.profile.sustained(rate)).total <= 500
    assert estimate(resources, result.profile.sustained(rate * 1.02)).total > 500


def test_an_unpriced_instance_class_is_an_error_that_names_it():
    database = Resource("aws:rds/instance:Instance", "db", {"instanceClass": "db.x9.huge", "allocatedStorage": 20})
    with pytest.raises(ValueError, match=r"db\.x9\.huge"):
        estimate([database], TrafficProfile())


def test_a_bad_traffic_value_names_its_key():
    with pytest.raises(ValueError, match="costAsyncShare"):
        profile_of({"serverless-infra:costAsyncShare": "lots"})


def test_an_impossible_profile_is_refused():
    with pytest.raises(ValueError, match="peak_hours_per_day"):
        TrafficProfile(peak_hours_per_day=25)


def test_the_cost_command_passes_prod_and_writes_json(archive_overrides, tmp_path, capsys):
    output = tmp_path / "cost.json"
    assert cost_main(cost_args(archive_overrides, "--stack", "prod", "--json", str(output))) == 0
    document = json.loads(output.read_text())
    assert document["within_budget"] is True
    assert document["total_usd"] == pytest.approx(sum(line["monthly_usd"] for line in document["lines"]), abs=0.5)
    assert "Levers" in capsys.readouterr().out


@pytest.mark.parametrize(
    "change",
    [
        "serverless-infra:provisionedConcurrencyMin=100",
        "serverless-infra:dbInstanceClass=db.r7g.xlarge",
    ],
)
def test_raising_provisioned_concurrency_or_instance_size_breaks_the_budget(archive_overrides, change, capsys):
    assert cost_main(cost_args(archive_overrides, "--stack", "prod", f"--config={change}")) == 1
    assert "OVER the $500 budget" in capsys.readouterr().out


def test_the_packs_budget_and_traffic_profile_default_to_the_projects(runs):
    """The pack cannot read stack config, so its defaults must be the project's own."""
    from policies.cost import DEFAULT_PROFILE, MONTHLY_BUDGET

    config = runs["prod"].config.values
    assert profile_of(config).__dict__ == DEFAULT_PROFILE
    budget = float(config["serverless-infra:monthlyBudgetUsd"])
    assert MONTHLY_BUDGET.config["budgetsUsd"]["default"] == {"prod": budget}
