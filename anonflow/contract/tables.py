"""The analysts' tables: names, columns, types and partitioning, defined once.

The Beam job turns these into Parquet schemas, the DuckDB views read them, and the infrastructure turns
them into Glue tables, so a column added here reaches all three.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

ColumnType = Literal["string", "int64", "double", "bool", "timestamp"]

Row = dict[str, Any]
"""One table row: column name -> value (timestamps as UTC milliseconds); made by `Table.row`."""

UNPUBLISHED_FILE: Final = "_unpublished.json"
"""Beside a partition's day file: per granularity, cells of the store's public grid (the stores file's
zones and cameras, the day's windows) the release did not publish. Readers' `*.parquet` globs skip it."""

SUPPRESSED: Final = "suppressed"
"""The column the privacy step sets (never an aggregation): whether the row's counts were withheld."""


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: ColumnType
    description: str
    nullable: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    """One output table. Files live under `<root>/<name>/store_id=<s>/date=<yyyy-mm-dd>/`."""

    name: str
    description: str
    columns: tuple[Column, ...]
    # What `row` and `check_released` compare against, computed once (rows are made by the million).
    _measured: frozenset[str] = field(init=False, repr=False, compare=False)
    _released: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = self.column_names
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"table {self.name}: repeated column {', '.join(repeated)}")
        object.__setattr__(self, "_released", frozenset(names))
        object.__setattr__(self, "_measured", frozenset(names) - {SUPPRESSED})

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def row(self, values: Row) -> Row:
        """`values` as a row of this table as an aggregation makes it: every column but `suppressed`
        (the privacy step's), no other. Raises ValueError naming each unknown and missing column, so
        a misspelt column fails the job instead of becoming a silent null in Parquet."""
        if values.keys() != self._measured:
            raise ValueError(self._misfit(values, self._measured))
        return values

    def check_released(self, values: Row) -> Row:
        """`values` if it holds exactly this table's columns (a row as written); ValueError otherwise."""
        if values.keys() != self._released:
            raise ValueError(self._misfit(values, self._released))
        return values

    def _misfit(self, values: Row, expected: frozenset[str]) -> str:
        unknown = sorted(set(values) - expected)
        missing = [name for name in self.column_names if name in expected and name not in values]
        problems = [
            f"{what} column{'s' if len(names) > 1 else ''} {', '.join(map(repr, names))}"
            for what, names in (("unknown", unknown), ("missing", missing))
            if names
        ]
        return f"{self.name} row: {'; '.join(problems)}"


# Hive-style partition keys, in path order; they are not stored inside the Parquet files.
PARTITION_KEYS: Final[tuple[Column, ...]] = (
    Column("store_id", "string", "Store the rows belong to."),
    Column(
        "date", "string", "Local calendar date of the window start in the store's time zone (YYYY-MM-DD)."
    ),
)

_WINDOW: Final[tuple[Column, ...]] = (
    Column("granularity", "string", "Window length: 5m, 1h or 1d (hours and days cut in store local time)."),
    Column("window_start", "timestamp", "Window start, UTC."),
    Column("window_end", "timestamp", "Window end (exclusive), UTC."),
)

FOOTFALL: Final = Table(
    "footfall",
    "People (estimated), journeys, line entries/exits and peak occupancy per zone and window.",
    (
        Column(
            "zone_id", "string", "Zone (camera polygon) the visitors were seen in; '*' is the whole store."
        ),
        *_WINDOW,
        Column(
            "visitors",
            "int64",
            "Estimated people seen in the zone (journeys grouped into people at the store's door lines, "
            "see dataflow/people/README.md; one per journey without door lines); null if suppressed.",
            True,
        ),
        Column(
            "journeys",
            "int64",
            "Distinct re-connected journeys seen in the zone (diagnostic: a person whose walk "
            "re-connection could not follow counts more than once); null if suppressed.",
            True,
        ),
        Column(
            "unlinked",
            "int64",
            "Of visitors, people whose journeys reach back to no door entry: the estimate's uncertainty "
            "(the true count most likely lies between visitors - unlinked and visitors); null if "
            "suppressed or the store names no door lines.",
            True,
        ),
        Column(
            "entries",
            "int64",
            "Journeys crossing a counting line inwards (once each); null if suppressed.",
            True,
        ),
        Column(
            "exits",
            "int64",
            "Journeys crossing a counting line outwards (once each); null if suppressed.",
            True,
        ),
        Column(
            "peak_occupancy",
            "int64",
            "Most journeys present at once (whole store '*': estimated people); null if suppressed.",
            True,
        ),
        Column("suppressed", "bool", "True when fewer than k journeys back the row."),
    ),
)

HEADLINE_COLUMN: Final = "visitors"
"""The footfall column a store manager reads first: estimated people (dataflow/people/README.md)."""

DWELL: Final = Table(
    "dwell",
    "How long visitors stayed in a zone, per window.",
    (
        Column("zone_id", "string", "Zone the dwell was measured in; '*' is the whole store (visit length)."),
        *_WINDOW,
        Column("visitors", "int64", "Journeys whose dwell is summarised; null if suppressed.", True),
        Column("dwell_p50_s", "double", "Median dwell in seconds; null if suppressed.", True),
        Column("dwell_p90_s", "double", "90th percentile dwell in seconds; null if suppressed.", True),
        Column("dwell_mean_s", "double", "Mean dwell in seconds; null if suppressed.", True),
        Column("suppressed", "bool", "True when fewer than k journeys back the row."),
    ),
)

DEMOGRAPHICS: Final = Table(
    "demographics",
    "Visitors by coarse gender and age group, per zone and window.",
    (
        Column("zone_id", "string", "Zone the visitors were seen in; '*' is the whole store."),
        *_WINDOW,
        Column("gender", "string", "female, male or unknown (from the anonymous body crop)."),
        Column(
            "age_group",
            "string",
            "child, adult, senior or unknown (from the anonymous body crop; v1 age bands are mapped).",
        ),
        Column("visitors", "int64", "Distinct journeys; null if suppressed.", True),
        Column("suppressed", "bool", "True when fewer than k journeys back the row."),
    ),
)

FLOWS: Final = Table(
    "flows",
    "Visitors moving from one zone to the next, per window of the move.",
    (
        *_WINDOW,
        Column("from_zone", "string", "Zone the journey left."),
        Column("to_zone", "string", "Zone the journey entered next."),
        Column("visitors", "int64", "Journeys making the move; null if suppressed.", True),
        Column("suppressed", "bool", "True when fewer than k journeys back the row."),
    ),
)

HEATMAP: Final = Table(
    "heatmap",
    "Foot-point density on a grid over each camera's image, per window.",
    (
        Column("camera_id", "string", "Camera whose image the grid covers."),
        *_WINDOW,
        Column("grid_size", "int64", "Cells per image side."),
        Column("cell_x", "int64", "Column of the cell, 0 at the left edge."),
        Column("cell_y", "int64", "Row of the cell, 0 at the top edge."),
        Column("observations", "int64", "Foot points observed in the cell; null if suppressed.", True),
        Column(
            "visitors", "int64", "Distinct journeys with a foot point in the cell; null if suppressed.", True
        ),
        Column("suppressed", "bool", "True when fewer than k journeys back the row."),
    ),
)

DEAD_LETTER: Final = Table(
    "dead_letter",
    "Input lines the job could not use, with the reason; nothing is dropped silently. Operators only: "
    "written to its own location, never next to the analysts' tables.",
    (
        Column("source", "string", "File (and line) or stream the payload came from."),
        Column("reason", "string", "Why the payload was rejected."),
        Column(
            "raw", "string", "The payload's first 2 KiB, face keypoints and long blobs (images) redacted."
        ),
        Column("received_at", "timestamp", "When the job saw the payload, UTC."),
    ),
)

ANALYST_TABLES: Final[tuple[Table, ...]] = (FOOTFALL, DWELL, DEMOGRAPHICS, FLOWS, HEATMAP)
"""What analysts read (DuckDB views, Glue tables): aggregates behind the privacy release only."""
OPERATOR_TABLES: Final[tuple[Table, ...]] = (DEAD_LETTER,)
"""What only operators read, from a separate location: rejected input, redacted."""
ALL_TABLES: Final[tuple[Table, ...]] = (*ANALYST_TABLES, *OPERATOR_TABLES)


def table(name: str) -> Table:
    for t in ALL_TABLES:
        if t.name == name:
            return t
    raise KeyError(name)
