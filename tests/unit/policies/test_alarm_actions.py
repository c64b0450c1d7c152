"""alarm-actions: an alarm notifies someone, itself or through the composite alarm that uses it."""

from __future__ import annotations

from policies import observability as o
from tests.unit.policies.conftest import Finder, Resources

CHECK = next(check for check in o.CHECKS if check.control.name == "alarm-actions")
TOPIC = ["arn:aws:sns:us-east-1:123456789012:alarms"]


def test_given_window_alarms_used_by_a_notifying_composite_then_no_finding(resources: Resources, findings: Finder):
    long = resources.add(o.ALARM, "long", {"alarmActions": []})
    short = resources.add(o.ALARM, "short", {})
    resources.add(o.COMPOSITE_ALARM, "burn", {"alarmActions": TOPIC}, deps={"alarmRule": [long, short]})
    assert findings(CHECK, resources) == []


def test_given_an_alarm_without_actions_that_no_composite_uses_then_it_is_reported(resources, findings):
    resources.add(o.ALARM, "silent", {"alarmActions": []})
    assert findings(CHECK, resources) == [("the alarm has no action and no composite alarm uses it", "silent")]


def test_given_a_composite_without_actions_then_it_is_reported(resources, findings):
    window = resources.add(o.ALARM, "window", {})
    resources.add(o.COMPOSITE_ALARM, "burn", {}, deps={"alarmRule": [window]})
    assert [name for _, name in findings(CHECK, resources)] == ["burn"]
