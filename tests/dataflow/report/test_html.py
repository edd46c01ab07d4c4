"""`anonflow report` on a DuckDB file with small, realistic rows: structure of the page, figures, errors.

The page is checked structurally here (every figure an inline SVG or one line saying why, nothing pointing
outside the page); test_browser.py opens it in headless Chromium.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType

import duckdb
import matplotlib.pyplot as plt
import numpy as np
import pytest

from anonflow.cli.main import main
from tests.dataflow.builders import PROCESSING_2024
from tests.kit.reportdb import build_db


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.figures: list[dict[str, str | None]] = []
        self.svgs = 0
        self.empties: list[str] = []
        self.links: list[str] = []
        self.headings: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "figure":
            self.figures.append(attributes)
        if tag == "svg":
            self.svgs += 1
        for name in ("href", "src", "xlink:href"):
            value = attributes.get(name)
            if value is not None and not value.startswith(("data:", "#")):
                self.links.append(value)
        self._in = "h2" if tag == "h2" else ("empty" if attributes.get("class") == "empty" else None)

    def handle_data(self, data: str) -> None:
        if self._in == "h2":
            self.headings.append(data)
        elif self._in == "empty":
            self.empties.append(data)
        self._in = None


def _parse(path: Path) -> tuple[_Page, str]:
    text = path.read_text(encoding="utf-8")
    page = _Page()
    page.feed(text)
    return page, text


def test_report_is_one_self_contained_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = build_db(tmp_path / "analytics.duckdb")
    frame = tmp_path / "entrance.png"
    plt.imsave(frame, np.full((48, 64, 3), 0.5))
    (tmp_path / "footfall").mkdir()
    (tmp_path / "footfall" / "_privacy.json").write_text(json.dumps({"k": 5, "differential_privacy": None}))
    partition = tmp_path / "demographics" / "store_id=store-001"
    for day, counts in (("2024-05-14", {"5m": 100, "1h": 20, "1d": 3}), ("2024-05-20", {"1d": 7})):
        (partition / f"date={day}").mkdir(parents=True)
        (partition / f"date={day}" / "_unpublished.json").write_text(json.dumps(counts))
    out = tmp_path / "report" / "report.html"

    code = main(
        [
            "report",
            "--db",
            str(db),
            "--out",
            str(out),
            "--time-zone",
            "Europe/Berlin",
            "--background",
            f"entrance={frame}",
        ]
    )

    assert code == 0
    printed = capsys.readouterr().out
    # People per hour and per zone, visit length, who came, flows, and two camera heatmaps.
    assert "7 figures" in printed and "empty" not in printed
    page, text = _parse(out)
    assert page.links == []  # nothing outside the page: no scripts, styles, fonts or images by URL
    # The only URLs are the SVG and XLink namespace names, which nothing fetches.
    assert "http" not in re.sub(r'xmlns(:xlink)?="http://www\.w3\.org/[0-9]{4}/(svg|xlink)"', "", text)
    assert "<script" not in text
    assert len(page.figures) == 7 and page.svgs == 7
    assert page.headings[:2] == ["The day at a glance: Tuesday 14 May 2024", "People over time"]
    assert "Dead letters" not in page.headings  # operators only: never in the analysts' report
    assert "keypoints.nose: unknown field" not in text
    assert "footfall: k = 5, exact counts" in text
    assert "Store store-001" in text and "Europe/Berlin (as asked)" in text
    assert "not published: fewer than 5 people (possibly none)" in text  # the hatched gaps' legend names k
    # The release's count of public grid cells it left out, of the report's day only.
    assert "cells not published (fewer than k people or a DP count ≤ 0; possibly none)" in text
    assert '<td class="n">123</td>' in text and '<td class="n">130</td>' not in text


def test_report_on_the_jobs_own_tables(
    tmp_path: Path, storeday: ModuleType, capsys: pytest.CaptureFixture[str], exact_release: None
) -> None:
    """The report reads what `anonflow pipeline` wrote, in the store's zone read from the tables. The job
    publishes exact rows here (`exact_release`): the real release would hide nearly every cell of a
    40-visitor day, and this test is about the report reading the job's layout."""
    storeday.write(
        storeday.generate(storeday.StoreDayConfig(visitors=40, seed=6, bad_lines=6)), tmp_path / "day"
    )
    tables = tmp_path / "tables"
    argv = [
        "pipeline",
        "--input",
        str(tmp_path / "day" / "entries"),
        "--output",
        str(tables),
        PROCESSING_2024,
    ]
    assert main([*argv, "--stores", str(tmp_path / "day" / "stores.yaml")]) == 0
    out = tmp_path / "report.html"
    db = str(tables / "analytics.duckdb")
    assert main(["report", "--db", db, "--out", str(out)]) == 0
    # One day: people per hour, per zone and hour, stay lengths, who came, flows and the four cameras'
    # heatmaps.
    assert "9 figures" in capsys.readouterr().out
    page, text = _parse(out)
    assert page.svgs == 9 and page.links == [] and page.empties == []
    assert "k = 3, counts perturbed (cell key" in text  # the parameters recorded next to the tables
    assert "UTC+02:00 (from the day windows)" in text  # Berlin in May, read from the 1d windows
    assert (
        main(["report", "--db", db, "--out", str(out), "--stores", str(tmp_path / "day" / "stores.yaml")])
        == 0
    )
    assert "Europe/Berlin (from stores.yaml)" in out.read_text(encoding="utf-8")


def test_empty_tables_say_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = build_db(tmp_path / "analytics.duckdb", empty=True)
    out = tmp_path / "report.html"
    assert main(["report", "--db", str(db), "--out", str(out)]) == 0
    assert "0 figures, 6 empty with a reason" in capsys.readouterr().out
    page, _ = _parse(out)
    assert page.svgs == 0 and len(page.empties) == len(page.figures) == 6
    assert "No whole-store rows in this period." in page.empties
    assert "No zones are configured for this store's cameras." in page.empties
    assert "Flows need at least two zones; this store's cameras have 0 zones configured." in page.empties


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database and a few broken inputs, shared by the error cases."""
    root = tmp_path_factory.mktemp("report")
    build_db(root / "analytics.duckdb")
    (root / "broken.png").write_bytes(b"not an image")
    (root / "notdb.duckdb").write_text("hello")
    (root / "other.yaml").write_text("stores:\n  - {store_id: store-002, time_zone: Europe/Paris}\n")
    with duckdb.connect(str(root / "partial.duckdb")) as connection:
        connection.execute("CREATE TABLE footfall (store_id VARCHAR)")
    build_db(root / "older.duckdb")  # as an earlier job wrote it: demographics by age band
    with duckdb.connect(str(root / "older.duckdb")) as connection:
        connection.execute("ALTER TABLE demographics RENAME COLUMN age_group TO age_band")
    return root


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--db", "{tmp}/missing.duckdb"], "does not exist"),
        (["--db", "{db}", "--store", "store-999"], "store 'store-999' has no footfall rows"),
        (["--db", "{db}", "--time-zone", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
        (["--db", "{db}", "--stores", "{tmp}/nope.yaml"], "stores file {tmp}/nope.yaml does not exist"),
        (["--db", "{db}", "--stores", "{tmp}/other.yaml"], "store 'store-001' is not in stores file"),
        (
            ["--db", "{db}", "--background", "entrance={tmp}/nope.png"],
            "background image for entrance does not exist",
        ),
        (["--db", "{db}", "--background", "entrance={tmp}/broken.png"], "cannot be read"),
        (["--db", "{tmp}/notdb.duckdb"], "is not a DuckDB database"),
        (
            ["--db", "{tmp}/older.duckdb"],
            "demographics has no age_group column(s); it was written by another",
        ),
        (["--db", "{tmp}/partial.duckdb"], "has no dwell, demographics, flows, heatmap view(s)"),
    ],
)
def test_mistakes_are_one_line(
    shared: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    filled = [a.format(tmp=shared, db=shared / "analytics.duckdb") for a in args]
    assert main(["report", *filled, "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message.format(tmp=shared) in err, err
