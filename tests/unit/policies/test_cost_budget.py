"""The monthly-budget control checks the stack's own budget and traffic, and fails closed: on a type it
cannot price, on traffic the stack refuses and on a budget it cannot read."""

from __future__ import annotations

from policies.cost import CHECKS, MONTHLY_BUDGET

BUDGET = next(check for check in CHECKS if check.control is MONTHLY_BUDGET)
PROD = {"tags": {"Environment": "prod"}}


def test_given_an_unpriceable_resource_type_the_budget_fails_naming_it(resources, findings, shipped_stack_config):
    # GIVEN a prod stack with a type the cost model has no rule for
    shipped_stack_config("prod")
    resources.add("pulumi:pulumi:Stack", "stack")
    resources.add("aws:opensearch/domain:Domain", "search", PROD)
    # WHEN the budget is checked THEN it fails, naming the type, instead of counting $0
    found = findings(BUDGET, resources)
    assert len(found) == 1
    assert "aws:opensearch/domain:Domain" in found[0][0]


def test_given_a_quota_below_the_priced_traffic_the_budget_fails(resources, findings, shipped_stack_config):
    # GIVEN a usage plan allowing 100,000 requests a day against prod's priced 1,596,000
    shipped_stack_config("prod")
    resources.add("pulumi:pulumi:Stack", "stack")
    resources.add(
        "aws:apigateway/usagePlan:UsagePlan",
        "plan",
        {**PROD, "quotaSettings": {"limit": 100_000, "period": "DAY"}, "throttleSettings": {"rateLimit": 200}},
    )
    # WHEN the budget is checked THEN it reports the quota
    found = findings(BUDGET, resources)
    assert [message for message, _ in found if "quota of 100,000" in message]


def test_the_projects_component_resources_are_not_priced(resources, findings, shipped_stack_config):
    # GIVEN a component of the project (its package is the project's name in the URN) and a cheap key
    shipped_stack_config("prod")
    resources.add("pulumi:pulumi:Stack", "stack")
    resources.add("project:index:Keys", "keys")
    resources.add("aws:kms/key:Key", "key", {**PROD, "enableKeyRotation": True})
    # WHEN the budget is checked THEN nothing is reported: the component is skipped, the key fits
    assert findings(BUDGET, resources) == []


def test_given_the_stacks_own_budget_exceeded_the_message_states_it_and_the_peak_hours_bound(
    resources, findings, shipped_stack_config
):
    # GIVEN a prod stack declaring a $100 budget and a REST API priced at its traffic
    shipped_stack_config("prod", monthlyBudgetUsd=100)
    resources.add("pulumi:pulumi:Stack", "stack")
    resources.add("aws:apigateway/restApi:RestApi", "api", PROD)
    # WHEN the budget is checked THEN the stack's budget is the one exceeded
    found = findings(BUDGET, resources)
    assert len(found) == 1
    assert "exceeds the prod budget of $100" in found[0][0]
    assert "busy hours a day" in found[0][0]


def test_given_a_pack_budget_it_stands_in_for_the_stacks(resources, findings, shipped_stack_config):
    # GIVEN the shipped prod budget but a pack configuration agreeing $100 for prod
    shipped_stack_config("prod")
    resources.add("pulumi:pulumi:Stack", "stack")
    resources.add("aws:apigateway/restApi:RestApi", "api", PROD)
    # WHEN the budget is checked THEN the pack's figure is the one applied
    found = findings(BUDGET, resources, {"budgetsUsd": {"prod": 100}})
    assert ["exceeds the prod budget of $100" in message for message, _ in found] == [True]


def test_given_a_project_that_declares_no_budget_it_is_not_checked(resources, findings, monkeypatch):
    # GIVEN a prod stack of another project: no serverless-infra configuration at all, an unpriceable type
    monkeypatch.setenv("PULUMI_CONFIG", "{}")
    resources.add("pulumi:pulumi:Stack", "stack")
    resources.add("aws:opensearch/domain:Domain", "search", PROD)
    # WHEN the budget is checked THEN nothing is reported: there is no budget to hold it to
    assert findings(BUDGET, resources) == []


def test_given_a_budget_without_its_traffic_profile_the_check_fails_naming_the_key(
    resources, findings, shipped_stack_config
):
    # GIVEN a prod stack declaring its budget but no peak rate
    shipped_stack_config("prod", costPeakRequestsPerMinute=None)
    resources.add("pulumi:pulumi:Stack", "stack")
    # WHEN the budget is checked THEN it fails closed, naming the key to set
    found = findings(BUDGET, resources)
    assert len(found) == 1
    assert "serverless-infra:costPeakRequestsPerMinute" in found[0][0]


def test_given_the_stacks_traffic_the_budget_prices_it_and_a_pack_profile_overrides_it(
    resources, findings, shipped_stack_config
):
    # GIVEN a prod stack whose declared traffic is a tenth of the shipped peak, and a plan allowing 200,000 a day
    shipped_stack_config("prod", costPeakRequestsPerMinute=1000, costBaselineRequestsPerMinute=30)
    resources.add("pulumi:pulumi:Stack", "stack")
    plan = {**PROD, "quotaSettings": {"limit": 200_000, "period": "DAY"}, "throttleSettings": {"rateLimit": 200}}
    resources.add("aws:apigateway/usagePlan:UsagePlan", "plan", plan)
    # WHEN checked THEN the stack's traffic (159,600 a day) fits; the pack's profile (10x) does not
    assert findings(BUDGET, resources) == []
    overridden = findings(BUDGET, resources, {"trafficProfile": {"peak_requests_per_minute": 10_000}})
    assert [message for message, _ in overridden if "quota of 200,000" in message]
