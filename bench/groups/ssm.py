"""SSM parameter reads against moto_server, uncached and cached, with the function's own code.

Uncached: one category by the function's own fetch (one GetParameters call, with decryption), and
``SettingsSource.load(force=True)``, the API function's whole settings (its categories' settings
documents and secrets; the figure's name gives the counts the run measured: parameters, settings
they hold, GetParameters calls). Cached: the same calls answered from
powertools' cache, which is what every warm invocation does. The baseline of an uncached read is
one bare boto3 GetParameter round trip to the same server; the baseline of a cached read is its
uncached twin, so the ratio is what the cache saves.
"""

from __future__ import annotations

from bench.backend import running_backend
from bench.groups import SSM_CACHED, SSM_UNCACHED, Context
from bench.harness import Figure, Summary, latency_figure, progress
from bench.processes import run_child

GROUP = "ssm"


def _calls(calls: int) -> str:
    return "1 GetParameters call" if calls == 1 else f"{calls} GetParameters calls at once"


def _us(samples_ms: list[float]) -> list[float]:
    return [sample * 1000 for sample in samples_ms]


async def run(context: Context) -> list[Figure]:
    params = {
        "scenario": "ssm",
        "rounds": context.pick(100, 25),
        "cached_rounds": context.pick(5000, 1000),
        "max_s": context.pick(20.0, 6.0),
    }
    async with running_backend(context.workdir) as backend:
        progress("ssm: reading parameters from moto_server in a function-like process")
        result = await run_child(
            "bench.inproc",
            params,
            workdir=context.workdir,
            name="ssm",
            timeout_s=180,
            environment=backend.in_process_environment("api"),
        )
    samples = result["samples_ms"]
    bare = ("GetParameter (bare boto3)", samples["GetParameter (bare boto3)"])
    count, calls = result["parameters_per_settings_load"], result["calls_per_settings_load"]
    held = result["settings_per_settings_load"]
    settings_uncached_us = Summary.of(_us(samples["settings uncached"])).p50
    category_uncached_us = Summary.of(_us(samples["category uncached"])).p50
    return [
        latency_figure(
            GROUP, "one category, uncached", samples["category uncached"], baseline=bare, target=SSM_UNCACHED
        ),
        latency_figure(
            GROUP,
            f"API settings ({count} parameters holding {held} settings, {_calls(calls)}), uncached",
            samples["settings uncached"],
            baseline=bare,
            target=SSM_UNCACHED,
        ),
        latency_figure(
            GROUP,
            "one category, cached",
            _us(samples["category cached"]),
            unit="µs",
            baseline=("uncached", category_uncached_us),
            target=SSM_CACHED,
        ),
        latency_figure(
            GROUP,
            "API settings, cached",
            _us(samples["settings cached"]),
            unit="µs",
            baseline=("uncached", settings_uncached_us),
            target=SSM_CACHED,
        ),
    ]
