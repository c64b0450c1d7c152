"""API Gateway's request matching, over whatever methods a program declares (here: a small hand-made API)."""

from __future__ import annotations

from local.blueprint import MethodBlueprint
from local.routing import match


def method(path: str, http_method: str, key: bool = True) -> MethodBlueprint:
    return MethodBlueprint(path, http_method, key, "NONE", "fn")


METHODS = (
    method("/items", "GET"),
    method("/items", "ANY"),
    method("/items/{item_id}", "GET"),
    method("/items/special", "POST"),
    method("/status", "GET", key=False),
    method("/{proxy+}", "ANY"),
)


def test_given_a_literal_and_a_variable_resource_when_both_fit_then_the_literal_wins():
    matched = match("/items/special", "POST", METHODS)
    assert matched is not None
    assert matched.method.resource_path == "/items/special"


def test_given_a_path_variable_when_matched_then_it_is_bound():
    matched = match("/items/7", "GET", METHODS)
    assert matched is not None
    assert matched.path_parameters == {"item_id": "7"}


def test_given_no_method_for_the_verb_when_the_resource_has_any_then_any_serves_it():
    matched = match("/items", "DELETE", METHODS)
    assert matched is not None
    assert matched.method.http_method == "ANY"


def test_given_a_deeper_path_than_any_resource_then_the_greedy_proxy_takes_it_whole():
    matched = match("/items/7/parts/1", "GET", METHODS)
    assert matched is not None
    assert matched.path_parameters == {"proxy": "items/7/parts/1"}


def test_given_a_resource_without_the_verb_or_any_then_nothing_matches():
    assert match("/status", "POST", METHODS) is None
    assert match("/", "GET", METHODS) is None


def test_given_no_methods_then_nothing_matches():
    assert match("/items", "GET", ()) is None
