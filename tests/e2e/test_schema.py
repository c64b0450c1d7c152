"""The saved OpenAPI document against the running API: generated requests get no 5xx and documented responses.

schemathesis reads function/openapi.json and, for every operation, sends requests it generates from
the document (the coverage phase's boundary and invalid cases, then a few dozen random ones, both
valid and negative: requests that break the document on purpose), with the API key. Each response
must not be a server error, and a response whose status the document describes must match the
schema it gives there.

Two request-side facts the document states only in words are added to the copy schemathesis reads,
so generated orders are mostly valid and the create routes are exercised past validation: the
currency is one of the active ISO 4217 codes, and a customer id holds no control characters. The
response schemas are the saved document's, unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from orders.currencies import ISO_4217
from schemathesis.checks import not_a_server_error, response_schema_conformance

OPENAPI = Path(__file__).resolve().parents[2] / "function" / "openapi.json"
MAX_EXAMPLES = 25  # per operation, in the random (fuzzing) phase; seven operations


def document() -> dict:
    saved = json.loads(OPENAPI.read_text(encoding="utf-8"))
    order = saved["components"]["schemas"]["NewOrder"]["properties"]
    order["currency"]["enum"] = sorted(ISO_4217)
    order["customer_id"]["pattern"] = "^[^\\u0000-\\u001f\\u007f]*$"
    return saved


CONFIG = schemathesis.Config.from_dict(
    {
        "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "stateful": {"enabled": False}},
        "generation": {"max-examples": MAX_EXAMPLES, "database": "none", "mode": "all"},
    }
)
schema = schemathesis.openapi.from_dict(document(), config=CONFIG)

pytestmark = pytest.mark.usefixtures("database")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_answers_generated_requests_without_a_5xx_and_as_documented(case, target):
    case.call_and_validate(
        base_url=target.base_url,
        headers={"x-api-key": target.api_key},
        checks=[not_a_server_error, response_schema_conformance],
        timeout=35,
    )
