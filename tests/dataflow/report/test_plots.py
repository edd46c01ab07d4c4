"""Panels that cannot draw say why, in the words of the release that withheld their data."""

from __future__ import annotations

from datetime import date

import pytest

from anonflow.dataflow.report.data import ReportData, Stay
from anonflow.dataflow.report.plots import visit_length
from tests.dataflow.report.builders import report_data

DAY = date(2026, 11, 21)


def _data(stays: list[Stay], privacy: dict[str, object]) -> ReportData:
    return report_data(DAY, stays=stays, privacy=privacy)


@pytest.mark.parametrize(
    ("stays", "privacy", "says"),
    [
        # Published rows without statistics: fewer people than the release's floor for them.
        (
            [Stay("*", DAY, 6, None, None, False)],
            {"dwell": {"k": 3, "statistics": {"min_support": 10}}},
            "Stay lengths are withheld: each zone-day had fewer than 10 people",
        ),
        ([Stay("*", DAY, 6, None, None, False)], {}, "each zone-day had too few people"),
        ([Stay("*", DAY, None, None, None, True)], {"dwell": {"k": 4}}, "fewer than 4 people"),
        ([], {}, "No dwell rows in this period."),
    ],
    ids=["withheld", "withheld-no-sidecar", "suppressed", "empty"],
)
def test_stay_panel_says_why_it_is_empty(stays: list[Stay], privacy: dict[str, object], says: str) -> None:
    panel = visit_length(_data(stays, privacy))
    assert panel.svg is None and panel.empty is not None
    assert says in panel.empty
    assert "noise" not in panel.empty  # the release no longer adds noise to hide stays


def test_stay_panel_draws_published_statistics() -> None:
    panel = visit_length(_data([Stay("*", DAY, 40, 90.0, 300.0, False)], {}))
    assert panel.empty is None and panel.svg is not None and "<svg" in panel.svg
