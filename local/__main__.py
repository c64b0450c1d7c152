"""``python -m local``: run the local stack until Ctrl-C, printing its URL and API keys.

The stack is built from the Pulumi program for ``--stack`` (``local.materialize``); what this
machine cannot hold is scaled down and printed as a note. The database comes from ``DATABASE_URL``
when set, otherwise from the project's PostgreSQL test-server manager (``local.postgres``), which
the stack starts and stops itself. A stack that cannot start (a port in use, a configuration AWS
would refuse) exits with status 2 and one line saying why.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from local.database import DatabaseStep, ExternalDatabase
from local.materialize import MaterializeError
from local.postgres import ManagedDatabase
from local.stack import PROJECT_ROOT, LocalStack, StackOptions, StackStartError
from offline.project import add_config_option


def database_from_environment() -> DatabaseStep:
    """``DATABASE_URL``'s server if set, else a TLS PostgreSQL the stack starts and stops itself."""
    url = os.environ.get("DATABASE_URL")
    return ExternalDatabase(url) if url else ManagedDatabase()


async def serve(options: StackOptions) -> None:
    stack = LocalStack(options)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    try:
        await stack.start()
        print(f"URL:     {stack.url}", flush=True)
        print(f"API key: {stack.api_key}", flush=True)
        for index, key in enumerate(stack.api_keys[1:], start=2):
            print(f"API key {index}: {key}", flush=True)
        print(f"Port:    {stack.port}", flush=True)
        for note in stack.blueprint.notes:
            print(f"Note:    {note}", flush=True)
        print(f"Written to {stack.endpoint_file}; logs in {stack.state_dir / 'logs'}. Ctrl-C stops.", flush=True)
        await stopping.wait()
    finally:
        await stack.stop()


def build_parser() -> argparse.ArgumentParser:
    """The command line main() parses, built apart so tests can check the docs' commands against it."""
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    parser.add_argument("--stack", default="dev", help="stack whose configuration to use (default: dev)")
    parser.add_argument("--port", type=int, default=8000, help="API port on 127.0.0.1 (0: any free port, printed)")
    parser.add_argument("--project-root", type=Path, default=PROJECT_ROOT)
    parser.add_argument("--state-dir", type=Path, help="where endpoint.json and logs go (default: .local/)")
    parser.add_argument("--no-database", action="store_true", help="run without PostgreSQL (data routes fail)")
    add_config_option(parser, "override a stack config key")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65_535:
        parser.error(f"--port {args.port} is not a TCP port (0 to 65535)")
    overrides = dict(args.config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    database = None if args.no_database else database_from_environment()
    options = StackOptions(
        project_root=args.project_root,
        stack=args.stack,
        port=args.port,
        database=database,
        state_dir=args.state_dir,
        overrides=overrides,
    )
    try:
        asyncio.run(serve(options))
    except (StackStartError, MaterializeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
