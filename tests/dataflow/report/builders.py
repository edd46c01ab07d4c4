"""Report data built by hand for the report's unit tests: one store-local day, nothing but what is given."""

from __future__ import annotations

from datetime import date

from anonflow.dataflow.report.data import ReportData, Rows, Stay, Window

NONE = Rows((), [])


def report_data(
    day: date,
    *,
    days: list[Window] | None = None,
    windows: list[Window] | None = None,
    stays: list[Stay] | None = None,
    privacy: dict[str, object] | None = None,
) -> ReportData:
    """A one-day report of store `s1` with the given rows; empty demographics, flows and heat map."""
    return ReportData(
        store_id="s1",
        first_date=day,
        last_date=day,
        windows=tuple(windows or ()),
        store_days=tuple(days or ()),
        stays=tuple(stays or ()),
        demographics=NONE,
        flows=NONE,
        heatmap=NONE,
        cells=NONE,
        privacy=privacy or {},
        synthetic=None,
    )
