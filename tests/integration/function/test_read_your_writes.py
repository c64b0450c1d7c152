"""A GET right after its POST sees the order, even when the read replica has not caught up yet.

Stacks without RDS Proxy (dev, staging) read from a replica, which applies the primary's writes
asynchronously (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.html); a miss
there is asked of the writer before it becomes a 404.
"""

from __future__ import annotations

import json

from orders.database import Role
from orders.handlers import api

from tests.integration.function.conftest import api_event


def test_given_a_replica_behind_the_write_when_the_order_is_read_right_after_then_the_writer_answers(
    migrated, context, monkeypatch
):
    created = api.handler(
        api_event("POST", "/orders", body={"customer_id": "raw", "amount_minor": 7, "currency": "EUR"}), context
    )
    assert created["statusCode"] == 201
    order_id = json.loads(created["body"])["order_id"]
    database = api.service().database
    real_run = database.run
    roles: list[Role] = []

    def lagging_replica(role, work, *args, **kwargs):
        roles.append(role)
        if role is Role.READER:
            return None  # the replica has not applied the insert yet
        return real_run(role, work, *args, **kwargs)

    monkeypatch.setattr(database, "run", lagging_replica)
    response = api.handler(api_event("GET", f"/orders/{order_id}"), context)
    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"])["order_id"] == order_id
    assert roles == [Role.READER, Role.WRITER]


def test_given_an_order_that_exists_nowhere_then_it_is_a_404_after_both_were_asked(migrated, context, monkeypatch):
    database = api.service().database
    real_run = database.run
    roles: list[Role] = []

    def counting(role, work, *args, **kwargs):
        roles.append(role)
        return real_run(role, work, *args, **kwargs)

    monkeypatch.setattr(database, "run", counting)
    response = api.handler(api_event("GET", "/orders/7d9f2b8e-3c1a-4e5f-9a6b-0c1d2e3f4a5b"), context)
    assert response["statusCode"] == 404
    assert roles == [Role.READER, Role.WRITER]
