"""The monthly-budget control fails closed: on a type it cannot price and on traffic the stack refuses."""

from __future__ import annotations

from policies.cost import CHECKS, MONTHLY_BUDGET

BUDGET = next(check for check in CHECKS if check.control is MONTHLY_BUDGET)
PROD = {"tags": {"Environment": "prod"}}


def test_given_an_unpriceable_resource_type_the_budget_fails_naming_it(resources, findings):
    # GIVEN a prod stack with a type the cost model has no rule for
    resources.add("pulumi:pulumi:Stack", "stack")
    resources.add("aws:opensearch/domain:Domain", "search", PROD)
    # WHEN the budget is checked THEN it fails, naming the type, instead of counting $0
    found = findings(BUDGET, resources)
    assert len(found) == 1
    assert "aws:opensearch/domain:Domain" in found[0][0]


def test_given_a_quota_below_the_priced_traffic_the_budget_fails(resources, findings):
    # GIVEN a usage plan allowing 100,000 requests a day against the default 1,596,000
    resources.add("pulumi:pulumi:Stack", "stack")
    resources.add(
        "aws:apigateway/usagePlan:UsagePlan",
        "plan",
        {**PROD, "quotaSettings": {"limit": 100_000, "period": "DAY"}, "throttleSettings": {"rateLimit": 200}},
    )
    # WHEN the budget is checked THEN it reports the quota
    found = findings(BUDGET, resources)
    assert [message for message, _ in found if "quota of 100,000" in message]


def test_the_projects_component_resources_are_not_priced(resources, findings):
    # GIVEN a component of the project (its package is the project's name in the URN) and a cheap key
    resources.add("pulumi:pulumi:Stack", "stack")
    resources.add("project:index:Keys", "keys")
    resources.add("aws:kms/key:Key", "key", {**PROD, "enableKeyRotation": True})
    # WHEN the budget is checked THEN nothing is reported: the component is skipped, the key fits
    assert findings(BUDGET, resources) == []


def test_given_an_estimate_over_budget_the_message_states_the_peak_hours_bound(resources, findings):
    # GIVEN a REST API priced at the default traffic against a $100 budget
    resources.add("pulumi:pulumi:Stack", "stack")
    resources.add("aws:apigateway/restApi:RestApi", "api", PROD)
    found = findings(BUDGET, resources, {"budgetsUsd": {"prod": 100}})
    assert len(found) == 1
    assert "exceeds the prod budget of $100" in found[0][0]
    assert "busy hours a day" in found[0][0]
