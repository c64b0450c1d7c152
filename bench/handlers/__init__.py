"""Handlers the benchmark runs under the local Lambda runtime; standard library only at import.

They run in the function's interpreter (the layer's virtualenv), so they must not import the
benchmark's own dependencies.
"""
