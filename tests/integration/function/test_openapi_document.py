"""What the saved OpenAPI document promises beyond each route's own responses: the 405 of every path,
the links from a create to its reads, and the consistency model of reads.

The 405s are checked against the function itself: every method a path does not serve is sent to it.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from orders.handlers import api

from tests.integration.function.conftest import api_event
from tests.integration.function.test_api_contract import call, header

DOCUMENT = json.loads((Path(__file__).resolve().parents[3] / "function" / "openapi.json").read_text(encoding="utf-8"))
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
UNSERVED = [
    (path, method)
    for path, operations in DOCUMENT["paths"].items()
    for method in METHODS
    if method.lower() not in operations
]


@pytest.fixture(autouse=True)
def fresh_service(monkeypatch):
    monkeypatch.setattr(api, "_service", None)


def concrete(path: str) -> str:
    return path.replace("{order_id}", str(uuid.uuid4()))


def schema_ref_parts(ref: str) -> list[str]:
    return ref.removeprefix("#/").split("/")


def follow(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        target: Any = DOCUMENT
        for part in schema_ref_parts(schema["$ref"]):
            target = target[part]
        schema = target
    return schema


def documented_405(path: str) -> dict[str, Any]:
    responses = [operation["responses"].get("405") for operation in DOCUMENT["paths"][path].values()]
    assert all(responses), f"an operation of {path} does not document its 405"
    assert all(response == responses[0] for response in responses), f"the operations of {path} differ on 405"
    return responses[0]


@pytest.mark.parametrize(("path", "method"), UNSERVED, ids=[f"{m} {p}" for p, m in UNSERVED])
def test_given_a_method_a_path_does_not_serve_then_the_answer_is_the_documented_405(context, path, method):
    documented = documented_405(path)
    response, body = call(api_event(method, concrete(path), body={} if method != "GET" else None), context)
    assert response["statusCode"] == 405
    assert [header(response, "Allow")] == documented["headers"]["Allow"]["schema"]["enum"]
    assert documented["headers"]["Allow"]["required"] is True
    schema = {**documented["content"]["application/json"]["schema"], "components": DOCUMENT["components"]}
    jsonschema.Draft202012Validator(schema).validate(body)
    assert body["error"]["code"] == "method_not_allowed"


def test_the_allow_header_of_a_path_names_exactly_the_methods_it_documents():
    for path, operations in DOCUMENT["paths"].items():
        assert documented_405(path)["headers"]["Allow"]["schema"]["enum"] == [
            ", ".join(sorted(method.upper() for method in operations))
        ]


def operation_by_id(operation_id: str) -> dict[str, Any]:
    (operation,) = [
        operation
        for operations in DOCUMENT["paths"].values()
        for operation in operations.values()
        if operation["operationId"] == operation_id
    ]
    return operation


def pointed(schema: dict[str, Any], pointer: str) -> dict[str, Any]:
    """The schema of the value a JSON pointer into a response body names."""
    for part in [p for p in pointer.split("/") if p]:
        schema = follow(schema)
        if schema.get("type") == "array":
            assert part.isdigit(), pointer
            schema = schema["items"]
        else:
            assert part in schema["properties"], (pointer, part)
            schema = schema["properties"][part]
    return follow(schema)


def links():
    for path, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                for name, link in response.get("links", {}).items():
                    yield f"{method.upper()} {path} {status} {name}", response, link


@pytest.mark.parametrize(("label", "response", "link"), list(links()), ids=[label for label, _, _ in links()])
def test_every_link_feeds_a_parameter_of_its_target_from_a_field_of_the_response(label, response, link):
    target = operation_by_id(link["operationId"])
    parameters = {parameter["name"]: parameter for parameter in target["parameters"]}
    for name, expression in link["parameters"].items():
        assert name in parameters, (label, name)
        match = re.fullmatch(r"\$response\.body#(/.*)", expression)
        assert match, (label, expression)
        source = pointed(response["content"]["application/json"]["schema"], match.group(1))
        assert source.get("type") == "string" or any(
            option.get("type") == "string" for option in source.get("anyOf", [])
        ), (label, source)


def test_each_way_of_creating_an_order_links_to_reading_it_by_the_id_it_answers_with():
    get_order = DOCUMENT["paths"]["/orders/{order_id}"]["get"]["operationId"]
    sources = {
        (path, status): link["parameters"]["order_id"]
        for path in ("/orders", "/orders/batch", "/orders/async")
        for status, response in DOCUMENT["paths"][path]["post"]["responses"].items()
        for link in response.get("links", {}).values()
        if link["operationId"] == get_order
    }
    assert sources == {
        ("/orders", "201"): "$response.body#/order_id",
        ("/orders/batch", "201"): "$response.body#/0/order_id",
        ("/orders/async", "202"): "$response.body#/event_id",
    }


def test_the_list_says_it_may_lag_behind_writes_and_the_single_read_says_it_does_not():
    listing = DOCUMENT["paths"]["/orders"]["get"]["description"]
    single = DOCUMENT["paths"]["/orders/{order_id}"]["get"]["description"]
    assert "Eventually consistent" in listing
    assert "read replica" in listing
    assert "RDS Proxy" in listing
    assert "Read your writes" in single
    assert "writer" in single
