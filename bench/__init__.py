"""Benchmarks of the orders system on the local stack: ``nox -s bench [-- --quick] [--only GROUP]``.

Every figure is reported next to a baseline measured in the same run (on a busy machine the
absolute numbers drift; the baseline drifted under the same load) and against the user's
targets; nothing is asserted. Results go to ``bench/results.json`` and a table on stdout. This package is kept free of
imports so the benchmark's own handlers (``bench.handlers``) add nothing to a measured cold start.
"""
