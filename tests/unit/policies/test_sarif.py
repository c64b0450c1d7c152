"""Where a SARIF result points: the line of the program that registered the resource, repository-relative."""

from __future__ import annotations

from offline.gate.program import REPO_ROOT
from offline.gate.report import _source_region


def test_a_recorded_source_position_becomes_a_repository_relative_file_and_line():
    resource = {"source_position": {"uri": f"file://{REPO_ROOT}/infra/__main__.py", "line": 42}}
    assert _source_region(resource) == ("infra/__main__.py", 42)


def test_a_position_outside_the_repository_or_none_at_all_gives_no_region():
    assert _source_region({"source_position": {"uri": "file:///usr/lib/python3.11/site.py", "line": 3}}) is None
    assert _source_region({"urn": "urn:pulumi:dev::p::t::n"}) is None
    assert _source_region(None) is None
