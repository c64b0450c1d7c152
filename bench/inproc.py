"""The measuring child for in-process handler calls: ``python -m bench.inproc --params JSON --result FILE``.

It runs with the function's environment variables (moto's endpoint, the parameter prefix, the
CA), imports the handlers as Lambda would, and times direct calls: no runtime client, no HTTP. It
never starts a server; the parent owns moto and PostgreSQL. Every loop is bounded by a round
count and a time budget from the parameters.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from bench.events import api_event, new_order, order_message, sqs_event
from bench.harness import Deadline, bounded, sample_ms
from local.context import LambdaContext

Samples = dict[str, list[float]]


def _api() -> Any:
    from orders.handlers import api

    return api


def _call(handler: Callable[[dict[str, Any], Any], dict[str, Any]], event: dict[str, Any], context: Any) -> int:
    status: int = handler(event, context)["statusCode"]
    return status


def _seed_orders(count: int, context: LambdaContext) -> str:
    """``count`` orders through POST /orders/batch, so reads and pages find rows; one id back."""
    api = _api()
    response = api.handler(
        api_event("POST", "/orders/batch", body={"orders": [new_order(i) for i in range(count)]}), context
    )
    if response["statusCode"] != 201:
        raise RuntimeError(f"seeding orders failed: {response['statusCode']} {response['body'][:300]}")
    return str(json.loads(response["body"])[0]["order_id"])


def warm(params: dict[str, Any]) -> dict[str, Any]:
    """Warm latency per route, the routes interleaved round by round so drift hits them alike."""
    api = _api()
    context = LambdaContext()
    order_id = _seed_orders(params["seed_orders"], context)
    counter = itertools.count()
    routes: dict[str, Callable[[], dict[str, Any]]] = {
        "GET /health": lambda: api_event("GET", "/health"),
        "GET /orders/{id}": lambda: api_event("GET", f"/orders/{order_id}"),
        "GET /orders": lambda: api_event("GET", "/orders"),
        "POST /orders": lambda: api_event("POST", "/orders", body=new_order(next(counter), customer="warm")),
    }
    for _ in range(params["warmup"]):
        for make in routes.values():
            _call(api.handler, make(), context)
    samples: Samples = {name: [] for name in routes}
    statuses: dict[str, dict[str, int]] = {name: {} for name in routes}
    for _ in bounded(params["rounds"], params["max_s"]):
        for name, make in routes.items():
            event = make()  # built outside the clock: that is API Gateway's work, not the function's
            started = time.perf_counter_ns()
            status = _call(api.handler, event, context)
            samples[name].append((time.perf_counter_ns() - started) / 1e6)
            statuses[name][str(status)] = statuses[name].get(str(status), 0) + 1
    return {"samples_ms": samples, "statuses": statuses}


def ssm(params: dict[str, Any]) -> dict[str, Any]:
    """Parameter reads against moto_server: one bare GetParameter, and the function's own paths."""
    import boto3
    from orders.config import SettingsSource, batches

    from contract.parameters import DOCUMENT_NAME, Category, category_path
    from contract.workloads import workload

    source = SettingsSource(categories=workload("api").parameter_categories)
    path = category_path(source.prefix, source.environment, Category.API)
    client = boto3.client("ssm")  # AWS_ENDPOINT_URL points it at moto, as it does the function's

    def bare() -> None:
        client.get_parameter(Name=f"{path}{DOCUMENT_NAME}", WithDecryption=True)

    def category(force: bool) -> Callable[[], object]:
        """The API category alone through the function's own fetch: one GetParameters call."""
        return lambda: source.fetch(source.names(Category.API), source.max_age, force)

    uncached: dict[str, Callable[[], object]] = {
        "GetParameter (bare boto3)": bare,
        "category uncached": category(True),
        "settings uncached": lambda: source.load(force=True),
    }
    for work in uncached.values():
        work()  # warm-up: clients, credentials, endpoint resolution
    result: Samples = {name: [] for name in uncached}
    for _ in bounded(params["rounds"], params["max_s"]):
        for name, work in uncached.items():  # interleaved, so drift in moto's speed hits all alike
            started = time.perf_counter_ns()
            work()
            result[name].append((time.perf_counter_ns() - started) / 1e6)
    max_s = params["max_s"]
    source.load()
    cached_rounds = params["cached_rounds"]
    result["category cached"] = sample_ms(category(False), rounds=cached_rounds, max_s=max_s, warmup=100)
    result["settings cached"] = sample_ms(source.load, rounds=cached_rounds, max_s=max_s, warmup=100)
    calls = len(batches([source.names(category) for category in source.categories]))
    return {
        "samples_ms": result,
        "parameters_per_settings_load": sum(len(source.names(category)) for category in source.categories),
        "settings_per_settings_load": len(source.load().as_dict()),
        "calls_per_settings_load": calls,
    }


ROW_BY_ROW_SQL = """
    INSERT INTO orders (order_id, customer_id, amount_minor, currency, idempotency_key, request_fingerprint, caller_id)
    VALUES (%s, %s, %s, %s, %s, %s, 'bench')
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING order_id, customer_id, amount_minor, currency, status, created_at
"""


def row_by_row(cursor: Any, orders: list[Any], keys: list[str]) -> int:
    """The baseline the set-based insert replaced: one INSERT round trip per order, one transaction."""
    inserted = 0
    for order, key in zip(orders, keys, strict=True):
        cursor.execute(
            ROW_BY_ROW_SQL,
            (uuid.uuid4(), order.customer_id, order.amount_minor, order.currency, key, order.fingerprint()),
        )
        inserted += cursor.fetchone() is not None
    return inserted


def batch(params: dict[str, Any]) -> dict[str, Any]:
    """A batch of orders: the shipped set-based insert, row by row, and POST /orders/batch end to end."""
    from orders import repository
    from orders.config import SettingsSource
    from orders.database import Database, Role
    from orders.domain import NewOrder

    from contract.workloads import workload

    api = _api()
    context = LambdaContext()
    size = params["size"]
    bodies = [new_order(i, customer="batch") for i in range(size)]
    orders = [NewOrder.model_validate(body) for body in bodies]
    database = Database(SettingsSource(categories=workload("api").parameter_categories))

    def keys() -> list[str]:
        return [f"bench:{uuid.uuid4()}" for _ in range(size)]

    def set_based() -> None:
        created = database.run(Role.WRITER, lambda cursor: repository.insert_batch(cursor, orders, keys(), "bench"))
        if len(created) != size:
            raise RuntimeError(f"the set-based insert created {len(created)} of {size}")

    def one_by_one() -> None:
        created = database.run(Role.WRITER, lambda cursor: row_by_row(cursor, orders, keys()))
        if created != size:
            raise RuntimeError(f"the row-by-row insert created {created} of {size}")

    def through_api() -> None:
        status = _call(api.handler, api_event("POST", "/orders/batch", body={"orders": bodies}), context)
        if status != 201:
            raise RuntimeError(f"POST /orders/batch answered {status}")

    runs = {"set-based insert": set_based, "row-by-row insert": one_by_one, "POST /orders/batch": through_api}
    for work in runs.values():
        work()  # warm-up: connections, prepared caches, first-use imports
    samples: Samples = {name: [] for name in runs}
    for _ in bounded(params["rounds"], params["max_s"]):
        for name, work in runs.items():
            started = time.perf_counter_ns()
            work()
            samples[name].append((time.perf_counter_ns() - started) / 1e6)
    return {"samples_ms": samples, "size": size}


def worker(params: dict[str, Any]) -> dict[str, Any]:
    """A full SQS batch through the worker handler, against a parse-only pass of the same batch processor."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from orders.handlers import worker as worker_module

    context = LambdaContext(function_name="serverless-infra-dev-function-worker")
    size = params["size"]
    parse_only = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def event() -> dict[str, Any]:
        return sqs_event([order_message(i) for i in range(size)])  # fresh event ids: every record inserts

    def shipped(batch_event: dict[str, Any]) -> None:
        response = worker_module.handler(batch_event, context)
        if response.get("batchItemFailures"):
            raise RuntimeError(f"{len(response['batchItemFailures'])} records failed")

    def baseline(batch_event: dict[str, Any]) -> None:
        process_partial_response(
            event=batch_event,
            record_handler=lambda record: worker_module.parse(record.body),
            processor=parse_only,
            context=cast(Any, context),  # duck-typed like the real context object
        )

    runs = {"worker handler": shipped, "parse-only batch": baseline}
    for work in runs.values():
        work(event())
    samples: Samples = {name: [] for name in runs}
    deadline = Deadline(params["max_s"])
    for index in range(params["rounds"]):
        if index and deadline.expired:
            break
        for name, work in runs.items():
            batch_event = event()
            started = time.perf_counter_ns()
            work(batch_event)
            samples[name].append((time.perf_counter_ns() - started) / 1e6)
    return {"samples_ms": samples, "size": size}


SCENARIOS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "warm": warm,
    "ssm": ssm,
    "batch": batch,
    "worker": worker,
}


def build_parser() -> argparse.ArgumentParser:
    """The command line main() parses, built apart so tests can check the docs' commands against it."""
    parser = argparse.ArgumentParser(prog="python -m bench.inproc")
    parser.add_argument("--params", required=True, help="JSON: {'scenario': ..., and its settings}")
    parser.add_argument("--result", required=True, type=Path)
    return parser


def main() -> None:
    parser = build_parser()
    options = parser.parse_args()
    params = json.loads(options.params)
    result = SCENARIOS[params["scenario"]](params)
    options.result.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
