"""no-public-ingress: CIDRs are parsed, so no spelling or split of the whole internet gets through."""

from __future__ import annotations

import pytest

from policies import network as n
from tests.unit.policies.conftest import UNKNOWN_STRING, Finder, Resources

CHECK = next(check for check in n.CHECKS if check.control.name == "no-public-ingress")


def _rules(resources: Resources, *cidrs: tuple[str, str]) -> None:
    group = resources.add(n.SECURITY_GROUP, "group", {})
    for index, (prop, cidr) in enumerate(cidrs):
        resources.add(n.INGRESS_RULE, f"rule-{index}", {prop: cidr}, deps={"securityGroupId": [group]})


@pytest.mark.parametrize(
    "cidrs",
    [
        [("cidrIpv4", "10.0.0.0/8")],
        [("cidrIpv4", "0.0.0.0/1")],  # half, not all: a narrower rule is another control's concern
        [("cidrIpv6", "2001:db8::/32")],
        [("cidrIpv4", "10.0.0.0/9"), ("cidrIpv4", "10.128.0.0/9")],
    ],
)
def test_given_rules_that_leave_part_of_the_internet_out_then_no_finding(resources, findings: Finder, cidrs):
    _rules(resources, *cidrs)
    assert findings(CHECK, resources) == []


@pytest.mark.parametrize(
    "cidr",
    [("cidrIpv4", "0.0.0.0/0"), ("cidrIpv6", "::/0"), ("cidrIpv6", "0:0:0:0:0:0:0:0/0"), ("cidrIpv6", "0000::/0")],
)
def test_given_the_whole_internet_in_any_spelling_then_the_rule_is_refused(resources, findings, cidr):
    _rules(resources, cidr)
    assert findings(CHECK, resources) == [("the rule admits the whole internet", "rule-0")]


def test_given_two_halves_that_make_the_whole_internet_then_the_group_is_refused(resources, findings):
    _rules(resources, ("cidrIpv4", "0.0.0.0/1"), ("cidrIpv4", "128.0.0.0/1"))
    assert findings(CHECK, resources) == [("the group's ingress rules together admit the whole internet", "group")]


def test_given_ipv6_halves_that_make_the_whole_space_then_the_group_is_refused(resources, findings):
    _rules(resources, ("cidrIpv6", "::/1"), ("cidrIpv6", "8000::/1"))
    assert len(findings(CHECK, resources)) == 1


def test_given_a_legacy_rule_and_an_inline_rule_then_both_are_judged(resources, findings):
    group = resources.add(n.SECURITY_GROUP, "inline", {"ingress": [{"cidrBlocks": ["0.0.0.0/0"]}]})
    resources.add(
        n.LEGACY_RULE, "legacy", {"type": "ingress", "ipv6CidrBlocks": ["::/0"]}, deps={"securityGroupId": [group]}
    )
    assert {name for _, name in findings(CHECK, resources)} == {"inline", "legacy"}


def test_given_a_cidr_that_is_not_a_network_then_it_is_named(resources, findings):
    _rules(resources, ("cidrIpv4", "everywhere"))
    [(message, _)] = findings(CHECK, resources)
    assert "'everywhere' is not an IP network" in message


def test_given_an_unknown_cidr_then_it_is_not_taken_for_the_internet(resources, findings):
    """An unknown CIDR comes from another resource's output (a VPC's range), never a literal /0."""
    _rules(resources, ("cidrIpv4", UNKNOWN_STRING))
    assert findings(CHECK, resources) == []
