"""Handlers the benchmark runs under the local Lambda runtime; standard library only at import.

They run as the function does, on the Lambda runtime's Python with the layer's libraries and the
runtime's own (``bench.layout``), so they must not import the benchmark's own dependencies.
"""
