"""The job under hostile input: every malformed payload becomes a dead-letter row with its reason, and the
job goes on to count the good entries beside it.

One batch run reads a directory holding one file per hostile case next to a file of good entries; each
case is then a row of the parametrised table, checked against that run's dead-letter table. Positive
controls show each check would catch the naive code it replaced.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import zlib
from pathlib import Path
from typing import Any

import duckdb
import pytest

from anonflow.cli.main import main
from anonflow.contract.entry import IDENTIFIER_PATTERN, Entry
from anonflow.contract.routed import PAYLOAD_FIELD, STORE_FIELD
from anonflow.dataflow.pipeline import JobResult
from anonflow.dataflow.pipeline import run as run_job
from tests.dataflow.builders import PROCESSING_2024, entry_json, obs

GOOD = [entry_json(obs("cam", f"{i:016x}", i)) for i in range(5)]
LIMIT_LINE = 4096
LIMIT_FILE = 1 << 20


def ndjson(*documents: Any) -> bytes:
    return "".join(json.dumps(d) + "\n" for d in documents).encode()


def routed(topic_store: str, *documents: Any) -> dict[str, str]:
    """A record as the entries topic rule writes it: the topic's store id and the message in base64."""
    return {STORE_FIELD: topic_store, PAYLOAD_FIELD: base64.b64encode(ndjson(*documents)).decode()}


def bomb(size: int) -> bytes:
    """`size` bytes of zeros, gzip-compressed without holding them in memory."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip framing
    block = b"0" * (1 << 20)
    return b"".join(packer.compress(block) for _ in range(size >> 20)) + packer.flush()


# (case, file body, dead-letter reason (start), partition store of the dead letter)
CASES: list[tuple[str, bytes, str, str]] = [
    ("deep-nesting", b"[" * 1000 + b"]" * 1000 + b"\n", "not JSON: nested too deeply", "unknown"),
    (
        "deep-nesting-in-a-batch",
        b'{"entries": ' + b"[" * 1500 + b"]" * 1500 + b"}\n",
        "not JSON: nested too deeply",
        "unknown",
    ),
    (
        "newline-in-store-id",
        ndjson({**GOOD[0], "store_id": "evil\n"}),
        "not a valid entry: store_id: String should match pattern",
        "unknown",
    ),
    (
        "nul-in-camera-id",
        ndjson({**GOOD[1], "camera_id": "cam\u0000"}),
        "not a valid entry: camera_id: String should match pattern",
        "s1",
    ),
    (
        "slash-in-store-id",
        ndjson({**GOOD[1], "store_id": "../../etc"}),
        "not a valid entry: store_id: String should match pattern",
        "unknown",
    ),
    (
        "year-2096",
        ndjson({**GOOD[2], "event_time_ms": 3_990_000_000_000}),
        "event_time_ms 3990000000000",
        "s1",
    ),
    ("year-2000", ndjson({**GOOD[3], "event_time_ms": 946_684_800_000}), "event_time_ms 946684800000", "s1"),
    ("huge-line", b"x" * (LIMIT_LINE * 4) + b"\n", f"line longer than {LIMIT_LINE} bytes", "unknown"),
    ("gzip-bomb", bomb(64 << 20), f"file holds more than {LIMIT_FILE} bytes", "unknown"),
    (
        "store-other-than-the-topics",
        json.dumps(routed("s2", GOOD[4])).encode() + b"\n",
        "store_id 's1' differs from the store of the topic it came on ('s2')",
        "s2",
    ),
    (
        "record-not-base64",
        json.dumps({STORE_FIELD: "s2", PAYLOAD_FIELD: "###"}).encode() + b"\n",
        "payload_base64 is not base64",
        "s2",
    ),
]


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, JobResult]:
    root = tmp_path_factory.mktemp("hostile")
    inputs = root / "entries"
    inputs.mkdir()
    (inputs / "good.ndjson").write_bytes(ndjson(*GOOD) + json.dumps(routed("s1", GOOD[0])).encode() + b"\n")
    for case, body, _, _ in CASES:
        (inputs / case).write_bytes(body)
    result = run_job(
        [
            f"--input={inputs}",
            f"--output={root / 'tables'}",
            f"--max_line_bytes={LIMIT_LINE}",
            f"--max_file_bytes={LIMIT_FILE}",
            PROCESSING_2024,
        ]
    )
    return root / "tables", result


def _operators_db(tables: Path) -> Path:
    """Dead letters live in the operators' location, `operators` beside the tables."""
    return tables.parent / "operators" / "dead_letters.duckdb"


def _dead_letters(tables: Path) -> list[dict[str, Any]]:
    with duckdb.connect(str(_operators_db(tables)), read_only=True) as db:
        cursor = db.execute("SELECT source, reason, store_id FROM dead_letter")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.mark.parametrize(("case", "body", "reason", "store"), CASES, ids=[c[0] for c in CASES])
def test_hostile_input_ends_as_a_dead_letter(
    hostile_run: tuple[Path, JobResult], case: str, body: bytes, reason: str, store: str
) -> None:
    tables, _ = hostile_run
    rows = [r for r in _dead_letters(tables) if Path(r["source"].split(":")[0]).name == case]
    assert [(r["reason"][: len(reason)], r["store_id"]) for r in rows] == [(reason, store)], rows


def test_the_job_goes_on_with_the_good_entries(hostile_run: tuple[Path, JobResult]) -> None:
    tables, result = hostile_run
    # Five distinct entries; the routed copy of the first is a repeat, dropped by its entry id.
    assert result.counters["entries_counted"] == len(GOOD)
    assert result.counters["entries_duplicate"] == 1
    assert len(_dead_letters(tables)) == len(CASES)
    # Only valid ids became partition directories.
    stores = {p.name for root in (tables, tables.parent / "operators") for p in root.glob("*/store_id=*")}
    assert stores == {"store_id=s1", "store_id=s2", "store_id=unknown"}


def test_anonflow_query_reads_the_hostile_run(
    hostile_run: tuple[Path, JobResult], capsys: pytest.CaptureFixture[str]
) -> None:
    tables, _ = hostile_run
    sql = "SELECT store_id, count(*) AS n FROM dead_letter GROUP BY store_id ORDER BY store_id"
    assert main(["query", "--db", str(_operators_db(tables)), "--format", "csv", sql]) == 0
    assert capsys.readouterr().out.splitlines() == ["store_id,n", "s1,3", "s2,2", "unknown,6"]


# Positive controls: the naive checks these cases replaced let each attack through.


def test_control_re_match_takes_a_trailing_newline_for_an_identifier() -> None:
    assert re.match(IDENTIFIER_PATTERN, "evil\n")  # what the dead-letter store check used to do


def test_control_the_stdlib_decoder_raises_on_deep_nesting() -> None:
    with pytest.raises(RecursionError):
        json.loads("[" * 1000 + "]" * 1000)


def test_control_the_contract_alone_accepts_the_year_2096() -> None:
    assert Entry.model_validate({**GOOD[2], "event_time_ms": 3_990_000_000_000})


def test_control_a_plain_line_names_any_store() -> None:
    """Without the topic rule's record the payload's own store id is all there is."""
    assert Entry.model_validate({**GOOD[4], "store_id": "s2"}).store_id == "s2"


def test_control_a_gzip_bomb_inflates_far_beyond_its_size() -> None:
    packed = bomb(64 << 20)
    assert len(packed) < 128 << 10 and len(gzip.decompress(packed)) == 64 << 20
