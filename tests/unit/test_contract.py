"""The shared contract: names, the parameter hierarchy and the workload table."""

from __future__ import annotations

import pytest

from contract.api import ROUTES, fallback_routes, fixed_path_methods, public_methods
from contract.naming import environment_of, resource_name
from contract.parameters import (
    DOCUMENT_NAME,
    PARAMETERS,
    STORED_PARAMETERS,
    Category,
    category_path,
    decode_document,
    encode_document,
    parameters_in,
    relative_name,
    stored_parameters_in,
)
from contract.workloads import WORKLOADS, interface_endpoint_services, readers_of, workload


def test_a_name_is_application_environment_type_and_qualifier():
    assert resource_name("prod", "subnet", "app-a") == "serverless-infra-prod-subnet-app-a"


@pytest.mark.parametrize(
    ("environment", "resource_type", "qualifier", "complaint"),
    [
        ("qa", "vpc", None, "unknown environment"),
        ("dev", "Vpc", None, "name part"),
        ("dev", "vpc_1", None, "name part"),
        ("dev", "-vpc", None, "name part"),
        ("dev", "subnet", "App A", "name part"),
    ],
)
def test_a_name_with_an_unknown_environment_or_bad_part_is_refused(environment, resource_type, qualifier, complaint):
    with pytest.raises(ValueError, match=complaint):
        resource_name(environment, resource_type, qualifier)


def test_environment_of_reads_back_a_canonical_name():
    assert environment_of("serverless-infra-staging-db-primary") == "staging"
    assert environment_of("other-app-dev-vpc") is None


def test_parameter_paths_follow_the_hierarchy():
    stored = next(s for s in STORED_PARAMETERS if s.name == "cursor_signing_key")
    assert stored.path("myapp", "dev") == "/myapp/dev/api/cursor_signing_key"
    assert category_path("myapp", "prod", Category.CACHE) == "/myapp/prod/cache/"


def test_a_settings_path_is_the_parameter_that_stores_it():
    """GIVEN a setting  THEN its path is its settings document's, or its own for a secret."""
    by_name = {spec.name: spec for spec in PARAMETERS}
    assert by_name["port"].path("myapp", "dev") == f"/myapp/dev/database/{DOCUMENT_NAME}"
    assert by_name["app_password"].path("myapp", "dev") == "/myapp/dev/database/app_password"
    stored_paths = {stored.path("myapp", "dev") for stored in STORED_PARAMETERS}
    assert {spec.path("myapp", "dev") for spec in PARAMETERS} == stored_paths


def test_every_category_has_settings_and_stored_names_are_unique():
    assert all(parameters_in(category) for category in Category)
    paths = [stored.path("p", "dev") for stored in STORED_PARAMETERS]
    assert len(paths) == len(set(paths))


def test_each_category_stores_its_non_sensitive_settings_in_one_document():
    """GIVEN the settings  WHEN stored  THEN each category has one document holding every non-sensitive one."""
    for category in Category:
        (document,) = (s for s in stored_parameters_in(category) if s.document)
        assert document.name == DOCUMENT_NAME
        assert document.settings == tuple(s for s in parameters_in(category) if not s.sensitive)
        assert not document.sensitive


def test_each_sensitive_setting_is_stored_alone_under_its_own_name():
    """GIVEN a secret  WHEN stored  THEN it is a parameter of its own, so it is rotated and rolled back alone."""
    alone = {(s.category, s.name): s.settings for s in STORED_PARAMETERS if not s.document}
    assert alone == {(s.category, s.name): (s,) for s in PARAMETERS if s.sensitive}
    assert all(stored.sensitive for stored in STORED_PARAMETERS if not stored.document)


def test_every_setting_is_held_by_exactly_one_stored_parameter():
    held = [spec for stored in STORED_PARAMETERS for spec in stored.settings]
    assert sorted(held, key=PARAMETERS.index) == list(PARAMETERS)


def test_the_api_settings_fit_one_get_parameters_call():
    """GetParameters takes at most 10 names:
    https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameters.html"""
    names = [s for c in workload("api").parameter_categories for s in stored_parameters_in(c)]
    assert len(names) <= 10


def test_a_document_round_trips_its_values():
    values = {"port": "5432", "writer_host": "db.example", "name": 'quote " and \\ backslash'}
    assert decode_document("database/settings", encode_document(values)) == values


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("{not json", "database/settings is not JSON"),
        ('["port"]', "database/settings must be a JSON object, got list"),
        ('{"port": 5432}', "database/settings: the value of port must be a JSON string"),
    ],
)
def test_a_document_that_is_not_a_json_object_of_strings_is_refused_naming_it(text, complaint):
    with pytest.raises(ValueError, match=complaint):
        decode_document("database/settings", text)


def test_relative_name_splits_a_full_name():
    assert relative_name("/myapp/dev/database/settings", "myapp", "dev") == (Category.DATABASE, DOCUMENT_NAME)


@pytest.mark.parametrize(
    "full_name",
    ["/other/dev/database/port", "/myapp/dev/queue/url", "/myapp/dev/database/", "/myapp/dev/database/a/b"],
)
def test_relative_name_refuses_names_outside_the_hierarchy(full_name):
    with pytest.raises(ValueError, match="parameter"):
        relative_name(full_name, "myapp", "dev")


def test_interface_endpoints_cover_every_service_called_and_those_the_requirement_names_but_the_gateway_ones():
    services = {service for w in WORKLOADS for service in w.aws_services} | {"ssm", "kms", "monitoring"}
    assert set(interface_endpoint_services()) == services - {"s3"}


def test_only_the_migrator_reads_no_api_or_cache_settings_it_does_not_need():
    assert workload("migrator").parameter_categories == (Category.DATABASE,)
    assert {w.key for w in readers_of(Category.API)} == {"api"}


def test_an_unknown_workload_is_an_error():
    with pytest.raises(KeyError, match="unknown workload"):
        workload("cron")


def test_every_cached_route_declares_what_varies_its_response_and_the_callers_key_first():
    cached = [route for route in ROUTES if route.cached]
    assert cached
    assert all(route.cache_key and route.cache_key[0] == "header.x-api-key" for route in cached)


def test_only_the_health_checks_and_their_fallbacks_answer_without_a_key():
    assert set(public_methods()) == {"GET /health", "GET /health/ready", "ANY /health", "ANY /health/ready"}


def test_every_declared_path_gets_a_fallback_asking_for_a_key_as_its_methods_do():
    fallbacks = {route.path: route.api_key for route in fallback_routes()}
    declared = {route.path for route in ROUTES if route.method != "ANY"}
    assert set(fallbacks) == declared
    assert fallbacks["health"] is False
    assert fallbacks["orders/{order_id}"] is True


def test_the_function_routes_fixed_paths_by_method_and_leaves_templated_ones_to_its_router():
    methods = fixed_path_methods()
    assert methods["/orders"] == {"GET", "POST"}
    assert not [path for path in methods if "{" in path]


def test_a_route_names_its_stage_settings_path_with_slashes_escaped():
    route = next(r for r in ROUTES if r.path == "orders/{order_id}")
    assert route.method_path == "~1orders~1{order_id}/GET"
