"""Invokes are answered with every field of the provider SDK's result type, plausibly."""

from __future__ import annotations

import json

import pulumi_aws as aws

from offline.invokes import result_class, synthesized_result
from offline.mocks import _policy_document


def _answer(token: str, **args: object) -> dict[str, object]:
    result = synthesized_result(token, args, region="us-east-1", account_id="123456789012")
    assert result is not None
    return result


def test_the_result_type_comes_from_the_token():
    assert result_class("aws:route53/getZone:getZone") is aws.route53.GetZoneResult
    assert result_class("aws:index/getRegion:getRegion") is aws.GetRegionResult
    assert result_class("nosuchpackage:index:getThing") is None


def test_every_field_of_the_result_type_is_answered_echoing_the_arguments():
    zone = _answer("aws:route53/getZone:getZone", name="example.com")
    assert zone["name"] == "example.com"
    assert str(zone["zoneId"]).startswith("Z")
    assert zone["nameServers"]
    assert zone["privateZone"] is False
    assert str(zone["arn"]).startswith("arn:aws:route53:")


def test_nested_result_types_and_lists_hold_one_plausible_element():
    ami = _answer("aws:ec2/getAmi:getAmi", owners=["amazon"])
    (mapping,) = ami["blockDeviceMappings"]  # type: ignore[misc]
    assert set(mapping) == {"deviceName", "ebs", "noDevice", "virtualName"}
    assert str(ami["imageId"]).startswith("ami-")
    assert ami["owners"] == ["amazon"]


def test_answers_are_deterministic():
    assert _answer("aws:ec2/getVpc:getVpc", default=True) == _answer("aws:ec2/getVpc:getVpc", default=True)


def test_a_policy_document_merges_source_and_override_documents_by_sid():
    source = json.dumps({"Statement": [{"Sid": "A", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    override = json.dumps({"Statement": [{"Sid": "B", "Effect": "Deny", "Action": "iam:*", "Resource": "*"}]})
    answer = _policy_document(
        {
            "policyId": "doc",
            "sourcePolicyDocuments": [source],
            "overridePolicyDocuments": [override],
            "statements": [{"sid": "B", "actions": ["sqs:SendMessage"], "resources": ["*"]}],
        }
    )
    document = json.loads(answer["json"])
    assert document["Id"] == "doc"
    assert [(s["Sid"], s["Effect"]) for s in document["Statement"]] == [("A", "Allow"), ("B", "Deny")]
    assert json.loads(answer["minifiedJson"]) == document
