"""The report as a reader sees it: rendered by headless Chromium (Debian's `chromium`), one browser start.

Pages: a sparse store-day (hand-made tables with suppressed cells and a background plate), a week and a
month written by the Beam job from the store-day generator, one day of that week, and empty tables. Each
must open without a console error, every figure must carry a visible title and either a drawing or one
line saying why not, and every figure over time must have a time axis whose labelled ticks run forwards
(read from the laid-out page: tick positions against the local times the ticks name).

The checks are run on deliberately broken pages too (a missing image and a throwing script, ticks out of
order, an untitled figure, a time figure without time ticks), so the test can fail.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import yaml

from anonflow.cli.main import main
from bench.demoweek import WeekConfig, write_week
from tests.kit.browser import Browser, PageReport, browser, chromium
from tests.kit.reportdb import build_db

# One Beam run and five reports are made once for the module; on a machine shared with other work that
# setup alone can take minutes, which is not what this test is about.
pytestmark = pytest.mark.timeout(900)


def problems(report: PageReport) -> list[str]:
    """Everything a reader would trip over on the page, one line each (empty: the page is fine)."""
    found = [f"console: {e}" for e in report.errors]
    if not report.figures:
        found.append("no figures")
    for figure in report.figures:
        if not figure.title or figure.title_height <= 0:
            found.append(f"{figure.id}: no visible title")
        if not figure.drawn and not figure.empty:
            found.append(f"{figure.id}: neither a drawing nor a reason")
        if figure.kind != "time" or not figure.drawn:
            continue
        if len(figure.ticks) < 2:
            found.append(f"{figure.id}: no time axis ({len(figure.ticks)} labelled ticks)")
            continue
        by_position = sorted(figure.ticks, key=lambda t: t.x)
        times = [t.time for t in by_position]
        if times != sorted(times) or len(set(times)) != len(times):
            found.append(f"{figure.id}: time axis out of order: {times}")
    return found


@pytest.fixture(scope="module")
def chrome() -> Iterator[Browser]:
    if chromium() is None:
        pytest.fail("chromium is not installed: run `bash .ci/system-deps` as root (Debian package chromium)")
    with browser() as driven:
        yield driven


def _two_stores(root: Path) -> tuple[Path, Path]:
    """A week (busy) and a 16-day month (quiet) of two stores, one job run; returns the db and stores file."""
    # Few people, one entry per track every 4 s: enough windows for every figure, a small job to run.
    week = write_week(
        WeekConfig(store_id="week-store", mean_people=20, days=7, seed=3, fps=0.25), root / "week"
    )
    month = write_week(
        WeekConfig(
            store_id="month-store",
            mean_people=8,
            days=16,
            fps=0.25,
            last_day=date(2024, 10, 31),  # spans the end of summer time in Berlin (27 Oct)
            seed=5,
        ),
        root / "month",
    )
    assert week["synthetic"] and month["synthetic"]
    stores = root / "stores.yaml"
    both = [
        yaml.safe_load((root / name / "stores.yaml").read_text())["stores"][0] for name in ("week", "month")
    ]
    stores.write_text(yaml.safe_dump({"stores": both}))
    entries = root / "entries"
    for name in ("week", "month"):
        shutil.copytree(root / name / "entries", entries, dirs_exist_ok=True)
    tables = root / "tables"
    # The real release (k = 3): the quiet month loses most of its cells and the week some, so the pages
    # show unpublished cells as gaps and panels with nothing to draw. Event times are checked against a
    # processing time: the end of the later store's days, looking back far enough for both.
    last = max(WeekConfig().last_day, date(2024, 10, 31))
    window = [f"--processing_time={last.isoformat()}T23:59:59Z", f"--max_event_age_s={800 * 86400}"]
    argv = ["pipeline", "--input", str(entries), "--output", str(tables), "--stores", str(stores), *window]
    assert main(argv) == 0
    return tables / "analytics.duckdb", stores


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("browser")
    sparse = build_db(root / "sparse.duckdb")
    empty_root = root / "empty"
    empty_root.mkdir()
    empty = build_db(empty_root / "analytics.duckdb", empty=True)
    plate = root / "entrance.png"
    plt.imsave(plate, np.linspace(0.2, 0.8, 48 * 64 * 3).reshape(48, 64, 3))
    db, stores = _two_stores(root)
    runs = {
        "sparse day": ["--db", str(sparse), "--background", f"entrance={plate}"],
        "empty": ["--db", str(empty)],
        "week": ["--db", str(db), "--store", "week-store", "--stores", str(stores)],
        "one day of the week": ["--db", str(db), "--store", "week-store", "--date", "2026-11-21"],
        "month": ["--db", str(db), "--store", "month-store", "--stores", str(stores)],
    }
    out = {}
    for name, argv in runs.items():
        out[name] = root / f"{name.replace(' ', '-')}.html"
        assert main(["report", *argv, "--out", str(out[name])]) == 0
    return out


@pytest.mark.parametrize("name", ["sparse day", "empty", "week", "one day of the week", "month"])
def test_report_opens_cleanly_with_ordered_time_axes(
    chrome: Browser, pages: dict[str, Path], name: str
) -> None:
    report = chrome.open(pages[name])
    assert problems(report) == []
    kinds = [f.kind for f in report.figures]
    if name != "empty":
        assert kinds.count("time") >= 2 and all(f.drawn for f in report.figures if f.kind == "time")
    else:
        assert not any(f.drawn for f in report.figures)


def test_cells_the_release_withheld_are_drawn_as_gaps(pages: dict[str, Path]) -> None:
    """Tables from the real release (k = 3) miss the cells of fewer than 3 people: the week's and the
    month's pages draw them as hatched gaps with the legend saying what a gap means."""
    for name in ("week", "month"):
        page = pages[name].read_text(encoding="utf-8")
        assert "not published: fewer than 3 people (possibly none)" in page, name


def test_axes_name_store_local_times(chrome: Browser, pages: dict[str, Path]) -> None:
    """The week's hourly axis ticks local midnights; the month's crosses the DST switch on Mondays."""
    week = {f.id: f for f in chrome.open(pages["week"]).figures}
    assert week["fig-days"].ticks[0].time == "2026-11-15T00:00+01:00"
    assert all(t.time.endswith("T00:00+01:00") for t in week["fig-people"].ticks)
    day = {f.id: f for f in chrome.open(pages["one day of the week"]).figures}
    assert [t.time[11:16] for t in day["fig-people"].ticks][:3] == ["08:00", "10:00", "12:00"]
    month = {f.id: f for f in chrome.open(pages["month"]).figures}
    mondays = [t.time for t in month["fig-people"].ticks]
    assert mondays == ["2024-10-21T00:00+02:00", "2024-10-28T00:00+01:00"]


def _broken(source: Path, target: Path, change: tuple[str, str] | None = None, *, pattern: str = "") -> Path:
    text = source.read_text(encoding="utf-8")
    if change is not None:
        assert change[0] in text
        text = text.replace(change[0], change[1], 1)
    if pattern:
        text = re.sub(pattern, "", text)
    target.write_text(text, encoding="utf-8")
    return target


def _swap_first_two_ticks(text: str, figure: str) -> str:
    ids = re.findall(rf'id="({figure}-t-[^"]+)"', text)
    first, second = ids[0], ids[1]
    return text.replace(first, "SWAP").replace(second, first).replace("SWAP", second)


def test_the_checks_catch_broken_pages(chrome: Browser, pages: dict[str, Path], tmp_path: Path) -> None:
    """Positive controls: each kind of defect the test looks for, planted in a real report page."""
    week = pages["week"]
    scripts = _broken(
        week,
        tmp_path / "errors.html",
        (
            "</body>",
            '<img src="missing.png"><script>console.error("drawn wrong");'
            'throw new Error("boom")</script></body>',
        ),
    )
    found = problems(chrome.open(scripts))
    assert any("missing.png" in p for p in found), found
    assert any("drawn wrong" in p for p in found), found
    assert any("boom" in p for p in found), found

    shuffled = tmp_path / "shuffled.html"
    shuffled.write_text(_swap_first_two_ticks(week.read_text(encoding="utf-8"), "days"), encoding="utf-8")
    [disorder] = [p for p in problems(chrome.open(shuffled)) if "out of order" in p]
    assert disorder.startswith("fig-days:")

    untitled = _broken(week, tmp_path / "untitled.html", ("<h3>People per day</h3>", "<h3></h3>"))
    assert problems(chrome.open(untitled)) == ["fig-days: no visible title"]

    no_axis = _broken(week, tmp_path / "no-axis.html", pattern=r'id="days-t-[^"]+"')
    assert problems(chrome.open(no_axis)) == ["fig-days: no time axis (0 labelled ticks)"]


def test_screenshot_for_reviewers(chrome: Browser, pages: dict[str, Path], tmp_path: Path) -> None:
    shot = chrome.screenshot(pages["week"], tmp_path / "week.png", width=1000)
    image = plt.imread(shot)
    assert image.shape[1] == 1000 and image.shape[0] > 2000  # the whole page, not one screen
