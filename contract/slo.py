"""The API's availability objective and the burn-rate alerts derived from it, defined once.

Good events are API answers that are not 5xx; valid events are all answers, both from API
Gateway's stage metrics (``AWS/ApiGateway`` ``5XXError`` and ``Count`` with ``ApiName`` and
``Stage``). The objective holds over a rolling 30 days. Alerting follows the multi-window,
multi-burn-rate scheme of the Google SRE workbook ("Alerting on SLOs",
https://sre.google/workbook/alerting-on-slos/): an alert fires when the error budget burns at
``burn_rate`` times the sustainable rate over a long window *and* a short one (the short window
makes the alert reset soon after the errors stop).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

AVAILABILITY_TARGET: Final = 0.999
"""Share of API answers that must not be 5xx (99.9%)."""
WINDOW_DAYS: Final = 30
"""The objective's rolling window."""
ERROR_BUDGET: Final = 1 - AVAILABILITY_TARGET
"""Share of answers that may fail within the window (0.1%)."""
WINDOW_SECONDS: Final = WINDOW_DAYS * 86_400


@dataclass(frozen=True)
class BurnRateAlert:
    """Page when the error ratio exceeds ``burn_rate`` x the budget over both windows."""

    name: str
    burn_rate: float
    long_window_s: int
    short_window_s: int

    @property
    def error_ratio_threshold(self) -> float:
        """The 5xx share of answers at which the budget burns ``burn_rate`` times too fast."""
        return self.burn_rate * ERROR_BUDGET

    @property
    def budget_consumed(self) -> float:
        """Share of the window's error budget spent by the time the long window alone would fire."""
        return self.burn_rate * self.long_window_s / WINDOW_SECONDS


BURN_RATE_ALERTS: Final = (
    # 2% of the 30-day budget in one hour.
    BurnRateAlert("fast", burn_rate=14.4, long_window_s=3_600, short_window_s=300),
    # 5% of the 30-day budget in six hours.
    BurnRateAlert("slow", burn_rate=6.0, long_window_s=21_600, short_window_s=1_800),
)
"""The workbook's two paging alerts for a 99.9% objective over 30 days."""
