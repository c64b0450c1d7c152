"""Subnet allocation: adding an availability zone never renumbers a subnet that exists.

A subnet's CIDR block cannot change in place (EC2 replaces the subnet, and every ENI, database and
endpoint in it), so :func:`plan_subnets` must give the zones already in use the same blocks however
many zones follow. https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html
The property is checked for every VPC size AWS allows whose per-zone blocks are still valid subnets
(at most /28), with the largest number of zones the plan has room for.
https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html
"""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from serverless_infra.components.network import SubnetPlan, plan_subnets

TIERS = ("application", "database", "public")
BLOCKS_PER_TIER = 8  # a tier's quarter of the VPC, in eight blocks: room for every zone a region has, and spare
SMALLEST_SUBNET_PREFIX = 28  # AWS's smallest subnet; a quarter split in eight is 5 bits longer than the VPC
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")


@st.composite
def vpc_cidrs(draw: st.DrawFn) -> str:
    """A private VPC range from /16 (AWS's largest) to the longest prefix whose subnets are still /28."""
    prefix = draw(st.integers(min_value=16, max_value=SMALLEST_SUBNET_PREFIX - 5))
    parent = ipaddress.IPv4Network(draw(st.sampled_from(PRIVATE_RANGES)))
    index = draw(st.integers(min_value=0, max_value=2 ** (prefix - parent.prefixlen) - 1))
    return str(ipaddress.IPv4Network((int(parent.network_address) + index * 2 ** (32 - prefix), prefix)))


def _blocks(plan: SubnetPlan) -> list[ipaddress.IPv4Network]:
    return [ipaddress.IPv4Network(block) for tier in TIERS for block in getattr(plan, tier)]


@given(vpc=vpc_cidrs(), zones=st.integers(min_value=1, max_value=BLOCKS_PER_TIER - 1))
def test_given_a_plan_when_a_zone_is_added_then_every_existing_subnet_keeps_its_block(vpc, zones):
    before, after = plan_subnets(vpc, zones), plan_subnets(vpc, zones + 1)

    for tier in TIERS:
        assert getattr(after, tier)[:zones] == getattr(before, tier), tier
        assert len(getattr(after, tier)) == zones + 1, tier


@given(vpc=vpc_cidrs(), zones=st.integers(min_value=1, max_value=BLOCKS_PER_TIER))
def test_given_any_number_of_zones_then_the_blocks_lie_in_the_vpc_and_never_overlap(vpc, zones):
    blocks = _blocks(plan_subnets(vpc, zones))
    network = ipaddress.IPv4Network(vpc)

    assert len(blocks) == len(TIERS) * zones
    assert all(block.subnet_of(network) and block.prefixlen <= SMALLEST_SUBNET_PREFIX for block in blocks)
    assert not any(a.overlaps(b) for index, a in enumerate(blocks) for b in blocks[index + 1 :])
