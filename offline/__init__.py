"""Offline verification of Pulumi Python projects: run a program under the official mocks.

Nothing here talks to a cloud or needs the Pulumi CLI. :mod:`offline.project` reads a project and
its stack configuration the way the CLI does, :mod:`offline.mocks` answers resource registrations
and invokes with plausible values, and :mod:`offline.harness` runs the program exactly as the CLI's
Python language host does (``runpy.run_path`` on the main directory, configuration in
``PULUMI_CONFIG``) and returns every resource it registered.
"""
