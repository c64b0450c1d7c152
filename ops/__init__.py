"""Operator commands run against a deployed account.

Unlike the rest of the repository, which is verified offline, these commands call AWS with the
operator's own credentials. Each one is a module run with ``python -m ops.<command>`` (or through
its nox session) and reads the shared definitions in :mod:`contract`, so it can only act on what
the program deploys.
"""
