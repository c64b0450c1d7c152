"""Batches of 500: the set-based insert against row by row, and a full SQS batch through the worker.

All in a process holding the function's environment, against the real TLS PostgreSQL. The
row-by-row baseline is written here (one INSERT round trip per order, one transaction), the
shape the set-based ``repository.insert_batch`` (one statement over ``unnest`` arrays) replaced.
``POST /orders/batch`` adds the HTTP layer's validation and serialisation of 500 orders. The
worker batch is the shipped handler (one idempotent insert per record, partial batch response)
against the same batch processor doing only the parsing, so the ratio is the database's share.
"""

from __future__ import annotations

from bench.backend import running_backend
from bench.groups import Context
from bench.harness import Figure, items_per_second, progress, rate_figure
from bench.processes import run_child

GROUP = "batch"
SIZE = 500


async def run(context: Context) -> list[Figure]:
    max_s = context.pick(40.0, 12.0)
    async with running_backend(context.workdir) as backend:
        progress(f"batch: {SIZE}-order inserts, set-based and row by row")
        inserts = await run_child(
            "bench.inproc",
            {"scenario": "batch", "size": SIZE, "rounds": context.pick(10, 3), "max_s": max_s},
            workdir=context.workdir,
            name="batch",
            timeout_s=max_s + 120,
            environment=backend.in_process_environment("api"),
        )
        progress(f"batch: {SIZE}-record SQS batches through the worker handler")
        worker = await run_child(
            "bench.inproc",
            {"scenario": "worker", "size": SIZE, "rounds": context.pick(5, 2), "max_s": max_s},
            workdir=context.workdir,
            name="worker",
            timeout_s=max_s + 180,
            environment=backend.in_process_environment("worker"),
        )
    insert_ms, worker_ms = inserts["samples_ms"], worker["samples_ms"]
    set_based = items_per_second(SIZE, insert_ms["set-based insert"])
    return [
        rate_figure(
            GROUP,
            f"{SIZE}-order insert, set-based (shipped)",
            SIZE,
            insert_ms["set-based insert"],
            baseline=("row by row", items_per_second(SIZE, insert_ms["row-by-row insert"])),
            details={"row_by_row_ms": insert_ms["row-by-row insert"]},
        ),
        rate_figure(
            GROUP,
            f"POST /orders/batch ({SIZE}) in-process",
            SIZE,
            insert_ms["POST /orders/batch"],
            baseline=("set-based insert", set_based),
        ),
        rate_figure(
            GROUP,
            f"worker, {SIZE}-record SQS batch",
            SIZE,
            worker_ms["worker handler"],
            baseline=("parse only", items_per_second(SIZE, worker_ms["parse-only batch"])),
        ),
    ]
