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

The stateful run follows the document's links instead: it creates orders (one, a batch, an async
one), then reads and lists them by the ids the answers carried, in short random sequences, with
every check schemathesis has (among them: a created order must not be 404 when read through its
link, and no response may be a 5xx). Only the document's own links are followed (no inferred ones),
so a document without them fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from orders.currencies import ISO_4217
from schemathesis.checks import not_a_server_error, response_schema_conformance

OPENAPI = Path(__file__).resolve().parents[2] / "function" / "openapi.json"
MAX_EXAMPLES = 25  # per operation, in the random (fuzzing) phase; seven operations
STATEFUL_STEPS = 6  # calls per sequence, at most


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


SAFE_CUSTOMER_ID = "^[0-9A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u6771\u4eac _.-]*$"
"""Letters that are their own NFC form and never a control or format character: the stateful run
checks that valid orders are accepted, so every order it makes must be one the API takes."""


def stateful_document() -> dict:
    """Customer ids from SAFE_CUSTOMER_ID (in orders and in the list's filter), and the list without two
    parameters a valid value of which the document cannot state: a cursor is a signed token only the
    API issues (the link that passes next_cursor goes with it), and the largest limit is the stack's
    apiMaxPageSize. The stateless run sends both, and their refusals are tested in the suites below."""
    saved = document()
    saved["components"]["schemas"]["NewOrder"]["properties"]["customer_id"]["pattern"] = SAFE_CUSTOMER_ID
    listing = saved["paths"]["/orders"]["get"]
    listing["parameters"] = [p for p in listing["parameters"] if p["name"] not in ("cursor", "limit")]
    for parameter in listing["parameters"]:
        if parameter["name"] == "customer_id":
            parameter["schema"] = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": SAFE_CUSTOMER_ID}
    del listing["responses"]["200"]["links"]["NextPage"]
    return saved


def whole_amounts(_context, body):
    """JSON Schema counts 1999.0 as an integer; the API takes an amount only as a JSON integer (a
    decimal point is refused with 400, tested in the integration suite), so generated ones are sent so."""
    orders = body.get("orders", [body]) if isinstance(body, dict) else []
    for order in orders:
        if isinstance(order, dict) and isinstance(order.get("amount_minor"), float):
            order["amount_minor"] = int(order["amount_minor"])
    return body


STATEFUL_CONFIG = schemathesis.Config.from_dict(
    {
        "phases": {"stateful": {"enabled": True, "max-steps": STATEFUL_STEPS, "inference": {"algorithms": []}}},
        "generation": {"database": "none", "mode": "positive"},
    }
)
stateful_schema = schemathesis.openapi.from_dict(stateful_document(), config=STATEFUL_CONFIG)
stateful_schema.hook("map_body")(whole_amounts)
STARTS = {
    "one order": (("/orders", "/orders/{order_id}"), 10),
    "a batch": (("/orders/batch", "/orders/{order_id}"), 5),
    "an async order": (("/orders/async", "/orders/{order_id}"), 5),
}
"""Each way of creating an order with the reads its links lead to, and how many sequences start there.

One run each: schemathesis starts sequences only at the operations it judges likely to succeed with
generated data, and by its naming heuristics it would never start one at the batch or async route
while POST /orders is there."""


@pytest.mark.parametrize("start", list(STARTS))
def test_linked_calls_from_creating_orders_to_reading_them_pass_every_check(target, start):
    """GIVEN the document's links WHEN schemathesis follows them in random sequences THEN every check passes."""
    paths, scenarios = STARTS[start]
    workflow = stateful_schema.include(path=list(paths)).as_state_machine()

    class AgainstTheTarget(workflow):
        def get_call_kwargs(self, case):
            return {"base_url": target.base_url, "headers": {"x-api-key": target.api_key}, "timeout": 35}

    AgainstTheTarget.run(
        settings=settings(
            max_examples=scenarios,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
    )
