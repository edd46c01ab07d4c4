"""Counting lines against the cases a line-counting peer checks.

The cases replay the situations of roboflow/supervision's line-zone tests (MIT licence,
test/detection/test_line_counter.py): direction per line orientation, crossings beside or parallel to
the line, V-shaped and diagonal paths, several people at once, lingering and flicker on the line, and
tracks that vanish just before or after it. Written anew for anonflow's model: one foot point per track
per frame, in normalised image coordinates (y grows downwards).

Where anonflow differs on purpose, the case says so:
- Direction names. A line's `in` side is the right-hand side of someone walking from its start to its
  end on the image. For a line drawn left to right that is below it, the opposite of supervision's
  naming for the same two points; a store draws its door line so that `in` points into the store.
- Paths that enter or leave the area beside the line's ends (V-shapes, diagonals). supervision only
  counts a box whose anchors stay within the band perpendicular to the line; anonflow counts every step
  whose path passes through the line itself, because a foot that walked through a doorway at an angle
  did enter. A path around one of the line's ends is still no crossing.
- Lingering and flicker. anonflow reports every crossing with its direction and time (no minimum
  crossing count): the Beam job counts each journey once per window and direction, so a shopper
  wavering on the line is one person in that window, while a debounce at the edge could lose a real
  crossing that cannot be recovered later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from anonflow.edge.config import LineConfig
from anonflow.edge.zones import LineCounter

XY = tuple[float, float]
# Per frame: where each track's foot is; a track absent from a frame was not seen in it.
Frames = list[dict[str, XY]]
# Per frame: the (track, direction) crossings reported.
Expected = list[list[tuple[str, str]]]

ACROSS = LineConfig(id="door", start=(0.2, 0.5), end=(0.8, 0.5))  # drawn left to right: `in` is downwards
BACKWARDS = LineConfig(id="door", start=(0.8, 0.5), end=(0.2, 0.5))
DOWN = LineConfig(id="door", start=(0.5, 0.2), end=(0.5, 0.8))  # drawn downwards: `in` is to the left
UP = LineConfig(id="door", start=(0.5, 0.8), end=(0.5, 0.2))
DIAGONAL = LineConfig(id="door", start=(0.6, 0.2), end=(0.2, 0.6))
ABOVE, BELOW, ON = (0.5, 0.4), (0.5, 0.6), (0.5, 0.5)


def walk(*feet: XY, track: str = "a") -> Frames:
    return [{track: foot} for foot in feet]


def seen(*directions: str | None, track: str = "a") -> Expected:
    return [[] if d is None else [(track, d)] for d in directions]


@dataclass(frozen=True)
class Case:
    name: str
    line: LineConfig
    frames: Frames
    expected: Expected


CASES = [
    # Direction per line orientation: back and forth twice.
    Case("across", ACROSS, walk(ABOVE, BELOW, ABOVE, BELOW), seen(None, "in", "out", "in")),
    Case(
        "across, drawn backwards", BACKWARDS, walk(ABOVE, BELOW, ABOVE, BELOW), seen(None, "out", "in", "out")
    ),
    Case("down", DOWN, walk((0.6, 0.5), (0.4, 0.5), (0.6, 0.5)), seen(None, "in", "out")),
    Case("up", UP, walk((0.6, 0.5), (0.4, 0.5), (0.6, 0.5)), seen(None, "out", "in")),
    Case("diagonal", DIAGONAL, walk((0.2, 0.2), (0.6, 0.6), (0.2, 0.2)), seen(None, "out", "in")),
    # Beside and parallel to the line.
    Case("beside, past the end", ACROSS, walk((0.9, 0.4), (0.9, 0.6), (0.9, 0.4)), seen(None, None, None)),
    Case("beside, before the start", ACROSS, walk((0.1, 0.4), (0.1, 0.6)), seen(None, None)),
    Case(
        "far from the line, across", ACROSS, walk((0.5, 0.0), (0.5, 1.0), (0.5, 0.0)), seen(None, "in", "out")
    ),
    Case("parallel, above", ACROSS, walk((0.1, 0.4), (0.5, 0.4), (0.9, 0.4)), seen(None, None, None)),
    Case("parallel, below", ACROSS, walk((0.9, 0.6), (0.1, 0.6)), seen(None, None)),
    Case(
        "along the line, partway", ACROSS, walk((0.3, 0.45), (0.6, 0.45), (0.3, 0.45)), seen(None, None, None)
    ),
    # V-shapes and diagonals reaching beyond the ends (supervision does not count these; see above).
    Case("V through the line", ACROSS, walk((0.1, 0.6), (0.5, 0.3), (0.9, 0.6)), seen(None, "out", "in")),
    Case("V around the start", ACROSS, walk((0.1, 0.6), (0.15, 0.3), (0.1, 0.6)), seen(None, None, None)),
    Case("diagonal, from within to beyond", ACROSS, walk((0.5, 0.55), (0.9, 0.1)), seen(None, "out")),
    Case("diagonal, from beyond to within", ACROSS, walk((0.95, 0.9), (0.5, 0.45)), seen(None, "out")),
    Case("diagonal, beyond to beyond", ACROSS, walk((0.1, 0.7), (0.9, 0.3)), seen(None, "out")),
    # Lingering and flicker on the line: a foot on the line has no side yet.
    Case("onto the line and back", ACROSS, walk(ABOVE, ON, ON, ABOVE), seen(None, None, None, None)),
    Case("onto the line, then over", ACROSS, walk(ABOVE, ON, ON, BELOW), seen(None, None, None, "in")),
    Case(
        "flicker across the line: every crossing reported",
        ACROSS,
        walk((0.5, 0.49), (0.5, 0.51), (0.5, 0.49), (0.5, 0.51), (0.5, 0.51)),
        seen(None, "in", "out", "in", None),
    ),
    Case(
        "lingering below after crossing",
        ACROSS,
        walk(ABOVE, BELOW, *[(0.5 + 0.01 * k, 0.6) for k in range(4)]),
        seen(None, "in", None, None, None, None),
    ),
    # Several people at once.
    Case(
        "one stays, one crosses",
        ACROSS,
        [{"a": ABOVE, "b": ABOVE}, {"a": ABOVE, "b": BELOW}, {"a": ABOVE, "b": ABOVE}],
        [[], [("b", "in")], [("b", "out")]],
    ),
    Case(
        "both cross together, opposite ways",
        ACROSS,
        [{"a": ABOVE, "b": BELOW}, {"a": BELOW, "b": ABOVE}],
        [[], [("a", "in"), ("b", "out")]],
    ),
    # Tracks that vanish.
    Case(
        "vanishes just before the line",
        ACROSS,
        [{"a": ABOVE, "b": ABOVE}, {"a": (0.5, 0.49), "b": BELOW}, {"b": BELOW}],
        [[], [("b", "in")], []],
    ),
    Case(
        "vanishes just after crossing: the crossing stays",
        ACROSS,
        [{"a": ABOVE, "b": ABOVE}, {"a": BELOW, "b": ABOVE}, {"b": ABOVE}],
        [[], [("a", "in")], []],
    ),
    Case(
        "unseen while crossing, found again beyond",
        ACROSS,
        [{"a": ABOVE}, {}, {}, {"a": BELOW}],
        [[], [], [], [("a", "in")]],
    ),
]


Step = Callable[[str, XY], list[tuple[str, str]]]  # (track, foot) -> (line id, direction) crossings


def replay(step: Step, case: Case) -> Expected:
    return [
        [(track, direction) for track, foot in frame.items() for _, direction in step(track, foot)]
        for frame in case.frames
    ]


def anonflow_step(line: LineConfig) -> Step:
    counter = LineCounter((line,))
    return lambda track, foot: [(c.line_id, c.direction) for c in counter.step(track, foot)]


def naive_step(line: LineConfig) -> Step:
    """A plausible first attempt: consecutive feet on opposite sides of the line's infinite extension."""
    last: dict[str, XY] = {}

    def side(p: XY) -> float:
        (ax, ay), (bx, by) = line.start, line.end
        return (bx - ax) * (p[1] - ay) - (by - ay) * (p[0] - ax)

    def step(track: str, foot: XY) -> list[tuple[str, str]]:
        before, last[track] = last.get(track), foot
        if before is None or side(before) * side(foot) >= 0:
            return []
        return [(line.id, "in" if side(foot) > 0 else "out")]

    return step


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_line_crossings(case: Case) -> None:
    assert replay(anonflow_step(case.line), case) == case.expected


def test_the_table_catches_a_naive_counter() -> None:
    """Positive control: the naive counter counts crossings beside the line and loses the one made by
    stepping onto the line and then over it; the table must notice each."""
    failing = {c.name for c in CASES if replay(naive_step(c.line), c) != c.expected}
    assert {"beside, past the end", "V around the start", "onto the line, then over"} <= failing


def test_crossings_carry_the_line_id() -> None:
    inner = LineConfig(id="inner", start=(0.2, 0.7), end=(0.8, 0.7))
    counter = LineCounter((ACROSS, inner))
    counter.step("a", ABOVE)
    found = counter.step("a", (0.5, 0.8))
    assert [(c.line_id, c.direction) for c in found] == [("door", "in"), ("inner", "in")]


def test_a_new_track_beyond_the_line_is_no_crossing() -> None:
    """The tracker ended the track and started another: nothing says one person crossed."""
    counter = LineCounter((ACROSS,))
    assert counter.step("a", ABOVE) == []
    counter.forget("a")
    assert counter.step("b", BELOW) == []
    assert counter.step("a", BELOW) == []  # an ended id holds no side any more
