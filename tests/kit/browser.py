"""Headless Chromium driven over the DevTools protocol: open a page, collect console errors, read figures.

Why the DevTools protocol and not chromedriver + selenium: Debian's `chromium` alone is enough (no driver
whose version must match the browser), one small pure-Python package (`websocket-client`) speaks it, and
it reports every kind of error a reader would meet in one stream: console.error calls, uncaught
exceptions, and resources that fail to load (Log.entryAdded), which selenium only partly exposes.

    python -m tests.kit.browser report.html --screenshot report.png    # a full-page screenshot
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import websocket

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
_FIGURES_JS = """
[...document.querySelectorAll('figure')].map(f => ({
  id: f.id,
  kind: f.dataset.kind || '',
  title: (f.querySelector('figcaption h3') || {innerText: ''}).innerText.trim(),
  titleHeight: (f.querySelector('figcaption h3') || document.body).getBoundingClientRect().height,
  drawn: !!f.querySelector('svg'),
  empty: (f.querySelector('.empty') || {innerText: ''}).innerText.trim(),
  ticks: [...f.querySelectorAll('svg [id*="-t-"]')].map(t => {
    const box = t.getBoundingClientRect();
    return {time: t.id.slice(t.id.indexOf('-t-') + 3), x: box.left + box.width / 2, width: box.width};
  }),
}))
"""


def chromium() -> str | None:
    """The browser binary, if installed (Debian's `chromium`)."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass(frozen=True, slots=True)
class Tick:
    """A labelled tick of a figure's time axis: the local time it names and where it is drawn (px)."""

    time: str
    x: float
    width: float


@dataclass(frozen=True, slots=True)
class FigureInfo:
    """One <figure> as the browser laid it out."""

    id: str
    kind: str
    title: str
    title_height: float
    drawn: bool
    empty: str
    ticks: tuple[Tick, ...]


@dataclass(frozen=True, slots=True)
class PageReport:
    """What opening one page gave: every console error, and the figures."""

    errors: tuple[str, ...]
    figures: tuple[FigureInfo, ...]


class Browser:
    """One headless Chromium process and one tab, spoken to over its DevTools websocket."""

    def __init__(self, process: subprocess.Popen[bytes], socket: websocket.WebSocket) -> None:
        self._process = process
        self._socket = socket
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    def call(self, method: str, timeout_s: float = 30.0, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        ident = self._next_id
        self._socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            message = json.loads(self._socket.recv())
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            self._events.append(message)
        raise TimeoutError(f"{method}: no answer in {timeout_s} s")

    def _wait_for(self, event: str, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(e.get("method") == event for e in self._events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {event} in {timeout_s} s")
            self._events.append(json.loads(self._socket.recv()))

    def open(self, page: Path) -> PageReport:
        """Load a local page and report console errors and figures."""
        self._events.clear()
        self.call("Page.navigate", url=page.resolve().as_uri())
        self._wait_for("Page.loadEventFired")
        figures = self.call("Runtime.evaluate", expression=_FIGURES_JS, returnByValue=True)
        errors = tuple(_errors(self._events))
        return PageReport(
            errors,
            tuple(
                FigureInfo(
                    f["id"],
                    f["kind"],
                    f["title"],
                    float(f["titleHeight"]),
                    bool(f["drawn"]),
                    f["empty"],
                    tuple(Tick(t["time"], float(t["x"]), float(t["width"])) for t in f["ticks"]),
                )
                for f in figures["result"]["value"]
            ),
        )

    def screenshot(self, page: Path, out: Path, width: int = 1200) -> Path:
        """A PNG of the whole page at `width` CSS pixels."""
        self.call(
            "Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1, mobile=False
        )
        self.open(page)
        size = self.call("Page.getLayoutMetrics")["cssContentSize"]
        shot = self.call(
            "Page.captureScreenshot",
            format="png",
            captureBeyondViewport=True,
            clip={"x": 0, "y": 0, "width": width, "height": size["height"], "scale": 1},
        )
        out.write_bytes(base64.b64decode(shot["data"]))
        return out


def _errors(events: list[dict[str, Any]]) -> list[str]:
    found = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in {"error", "assert"}:
            found.append(
                "console: " + " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
            )
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            found.append(
                "exception: " + str(details.get("exception", {}).get("description", details.get("text")))
            )
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            found.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}".strip())
    return found


def _port(profile: Path, process: subprocess.Popen[bytes], timeout_s: float = 30.0) -> int:
    """Chromium writes the port it chose (for --remote-debugging-port=0) into the profile folder."""
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout_s
    while not marker.is_file() or not marker.read_text().strip():
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with {process.returncode} before it listened")
        if time.monotonic() > deadline:
            raise TimeoutError(f"chromium did not listen within {timeout_s} s")
        time.sleep(0.05)
    return int(marker.read_text().splitlines()[0])


@contextmanager
def browser(binary: str | None = None) -> Iterator[Browser]:
    """Start headless Chromium with a fresh profile; stop it and remove the profile afterwards."""
    path = binary or chromium()
    if path is None:
        raise RuntimeError("chromium is not installed (Debian package `chromium`)")
    # Chromium's helper processes (zygote, crash handler) can outlive the main one and still write to the
    # profile: it runs in a session of its own, whose whole process group is stopped before the profile
    # is removed; a file a dying helper writes even later must not fail the test that used the browser.
    with tempfile.TemporaryDirectory(prefix="anonflow-chromium-", ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen(
            [path, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            port = _port(Path(profile), process)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as answer:
                tab = next(t for t in json.load(answer) if t.get("type") == "page")
            socket = websocket.create_connection(
                tab["webSocketDebuggerUrl"], timeout=30, suppress_origin=True
            )
            try:
                driven = Browser(process, socket)
                for domain in ("Page", "Runtime", "Log"):
                    driven.call(f"{domain}.enable")
                yield driven
            finally:
                socket.close()
        finally:
            _stop_group(process)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop Chromium and every helper it started (its process group), waiting for the main process."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
        try:
            process.wait(timeout=10)
            break
        except subprocess.TimeoutExpired:
            continue
    # Helpers may take a moment longer than the main process; give the group a short grace to go.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Open a page in headless Chromium; print errors; screenshot it."
    )
    parser.add_argument("page", type=Path)
    parser.add_argument("--screenshot", type=Path, help="write a full-page PNG here")
    parser.add_argument("--width", type=int, default=1200)
    args = parser.parse_args(argv)
    with browser() as driven:
        report = driven.open(args.page)
        for error in report.errors:
            print(f"error: {error}")
        for figure in report.figures:
            print(f"{figure.id}: {figure.title!r} ({figure.kind}, {len(figure.ticks)} time ticks)")
        if args.screenshot:
            print(f"wrote {driven.screenshot(args.page, args.screenshot, args.width)}")
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
