"""The function's code laid out as Lambda runs it, on the runtime's Python: for the cold-start and import groups.

Two layouts of the same code, both on the interpreter of the Lambda runtime's minor version
(``contract.runtime.LAMBDA_RUNTIME``, found by ``offline.pythons``) with the layer and the runtime
directory ``local.interpreters`` prepares for the local stack:

- **as packaged**: ``function.zip`` built from today's sources by ``offline.package`` and extracted
  as Lambda extracts it to ``/var/task``, bytecode included; the process may not write bytecode
  (``PYTHONDONTWRITEBYTECODE``), as Lambda's code directories are read-only;
- **with bytecode**: the repository's own sources, whose bytecode Python caches next to them
  after a first, unmeasured run: what a cold start costs when nothing is compiled.

The two are the same figure when the archive's bytecode is used; a difference is compilation.
The benchmark's own handlers (``bench.handlers``) are laid out next to the task root, compiled
the same way. The layer is ``build/layer.zip`` (``nox -s package``); without it there is no
packaged layout and the groups say so.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from pathlib import Path

from bench.processes import CODE_PATHS, PROJECT_ROOT
from contract.runtime import LAMBDA_RUNTIME, TASK_ROOT
from local import interpreters
from offline.package import LAYER_ZIP, build_function, compile_tree, runtime_python


@dataclass(frozen=True)
class Layout:
    """Import paths (task root first, then the layer) and the interpreter and runtime directory that run them.

    ``local.runtime`` puts the runtime directory after a spec's code paths; a plain process needs
    :meth:`import_path`.
    """

    python: str
    packaged: tuple[Path, ...]
    with_bytecode: tuple[Path, ...]
    runtime_dir: Path

    def import_path(self, paths: tuple[Path, ...]) -> str:
        """``PYTHONPATH`` for ``paths`` as the Lambda runtime orders it: the code, the layer, ``/var/runtime``."""
        return ":".join(str(path) for path in (*paths, self.runtime_dir))


def _bench_handlers(destination: Path) -> Path:
    """``bench/handlers`` as a package beside the task root, compiled as the packager compiles."""
    package = destination / "bench"
    shutil.copytree(
        PROJECT_ROOT / "bench" / "handlers", package / "handlers", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copyfile(PROJECT_ROOT / "bench" / "__init__.py", package / "__init__.py")
    compile_tree(destination, TASK_ROOT)
    return destination


def _prepare(workdir: Path) -> Layout | None:
    if not LAYER_ZIP.is_file():
        return None
    function_zip = workdir / "function.zip"
    build_function(function_zip)
    code = interpreters.packaged_code(LAMBDA_RUNTIME, function_zip, LAYER_ZIP)
    handlers = _bench_handlers(workdir / "bench-handlers")
    layer_paths = code.code_paths[1:]
    return Layout(
        python=runtime_python(),
        packaged=(code.task_root, handlers, *layer_paths),
        with_bytecode=(*CODE_PATHS, *layer_paths),
        runtime_dir=code.runtime_dir,
    )


async def lambda_layout(workdir: Path) -> Layout | None:
    """Both layouts (built and cached as the local stack caches them); None without ``build/layer.zip``."""
    return await asyncio.to_thread(_prepare, workdir)
