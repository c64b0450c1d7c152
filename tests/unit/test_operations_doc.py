"""docs/operations.md explains every alarm the program creates."""

from __future__ import annotations

import re

from tests.unit.support import PROJECT_ROOT

OPERATIONS = (PROJECT_ROOT / "docs" / "operations.md").read_text(encoding="utf-8")


def documented_alarms():
    return re.findall(r"^### (\S+)$", OPERATIONS, re.MULTILINE)


def as_pattern(heading):
    return re.compile(
        "^"
        + re.escape(heading)
        .replace(re.escape("<name>"), r"[a-z-]+")
        .replace(re.escape("<n>"), r"\d+")
        .replace(re.escape("<window>"), r"\d+[mh]")
        + "$"
    )


def test_every_alarm_has_a_section(stack_run):
    patterns = [as_pattern(heading) for heading in documented_alarms()]
    alarms = [
        a.inputs["name"].split("-alarm-", 1)[1] for a in stack_run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    ] + [
        a.inputs["alarmName"].split("-alarm-", 1)[1]
        for a in stack_run.of_type("aws:cloudwatch/compositeAlarm:CompositeAlarm")
    ]
    undocumented = [alarm for alarm in alarms if not any(p.match(alarm) for p in patterns)]
    assert undocumented == []


def test_every_section_gives_three_things_to_check():
    sections = re.split(r"^### ", OPERATIONS, flags=re.MULTILINE)[1:]
    for section in sections:
        if section.split("\n", 1)[0] in documented_alarms():
            assert re.search(r"^1\. .*^2\. .*^3\. ", section, re.MULTILINE | re.DOTALL), section.split("\n", 1)[0]


def test_every_dashboard_widget_is_described(stack_run):
    import json

    (dashboard,) = stack_run.of_type("aws:cloudwatch/dashboard:Dashboard")
    for widget in json.loads(dashboard.inputs["dashboardBody"])["widgets"]:
        title = widget["properties"]["title"].split(" (")[0]
        assert f"| {title} |" in OPERATIONS, title
