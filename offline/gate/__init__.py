"""The offline compliance gate: run a Pulumi Python program under mocks, then drive a CrossGuard
policy pack exactly as the Pulumi engine does (analyzer plugin process, analyzer gRPC protocol).

``python -m offline.gate`` (or ``nox -s preview``) is the command; :func:`offline.gate.gate.run_gate`
the same in-process.
"""
