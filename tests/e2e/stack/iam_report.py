"""The e2e run's IAM report: per role, the granted actions no call of the run used, and the calls denied.

A grant no end-to-end flow exercises is either dead (drop it from the program) or a flow without a
test; the report, printed after the results, says which grants to look at. Wiring (conftest's):

    report = IamReport()                                   # in pytest_configure
    config.pluginmanager.register(report, "iam-report")
    ...
    report.watch(stack.iam)                                # once the local stack has started

The enforcement keeps what it recorded after the stack stops, so the stack may stop before the
summary is written.
"""

from __future__ import annotations

import pytest

from local.iam import IamEnforcement


class IamReport:
    """A pytest plugin that prints the IAM report of every stack it watched at the end of the run."""

    def __init__(self) -> None:
        self._watched: list[IamEnforcement] = []

    def watch(self, enforcement: IamEnforcement) -> None:
        """Report on ``enforcement`` (a stack's ``LocalStack.iam``) at the end of the run."""
        if enforcement not in self._watched:
            self._watched.append(enforcement)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        for enforcement in self._watched:
            write_report(terminalreporter, enforcement)


def write_report(terminal: pytest.TerminalReporter, enforcement: IamEnforcement) -> None:
    """The unused grants, then every denied call (a denial in a passing run is a flow that swallowed it)."""
    terminal.write_sep("-", "IAM: grants no call used")
    terminal.write_line(enforcement.unused_report())
    denials = enforcement.denials()
    if denials:
        terminal.write_sep("-", f"IAM: {len(denials)} call(s) denied")
        for role_name, message in denials:
            terminal.write_line(f"  {role_name}: {message}")
