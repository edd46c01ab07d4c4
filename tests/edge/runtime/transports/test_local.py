"""Local NDJSON files: rolled by size and time, named for a polling reader, recovered after a crash."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from anonflow.contract import Entry
from anonflow.edge.runtime.batch import unpack
from anonflow.edge.runtime.transports.base import TransportError
from anonflow.edge.runtime.transports.local import LocalFilesTransport, recover_parts
from tests.kit.synthetic import synthetic_line

ENTRIES = "anonflow/v1/store1/cam1/entries"
HEALTH = "anonflow/v1/store1/gw1/health"
NAME = re.compile(r"^entries-store1-gw1-\d{8}T\d{9}Z-\d{4}\.ndjson$")


class Clock:
    def __init__(self) -> None:
        self.now = 1_767_225_600.0

    def __call__(self) -> float:
        return self.now


def transport(directory: Path, clock: Clock, *, max_file_bytes: int = 1_000_000) -> LocalFilesTransport:
    return LocalFilesTransport(
        directory,
        store_id="store1",
        gateway_id="gw1",
        max_file_bytes=max_file_bytes,
        roll_interval_s=60,
        clock=clock,
    )


def test_files_roll_by_size_and_only_finished_files_carry_the_reader_suffix(tmp_path: Path) -> None:
    line = synthetic_line(0)
    local = transport(tmp_path, Clock(), max_file_bytes=3 * len(line))

    for n in range(7):
        local.publish(ENTRIES, synthetic_line(n), timeout_s=1)

    finished = sorted(tmp_path.glob("*.ndjson"))
    assert [len(unpack(f.read_bytes())) for f in finished] == [3, 3]
    assert [p.name.endswith(".ndjson.part") for p in tmp_path.glob("entries-*.part")] == [True]
    assert all(NAME.match(f.name) for f in finished), [f.name for f in finished]
    local.close()
    lines = [line for f in sorted(tmp_path.glob("*.ndjson")) for line in unpack(f.read_bytes())]
    assert [Entry.model_validate_json(x).entry_id for x in lines] == [
        Entry.model_validate_json(synthetic_line(n)).entry_id for n in range(7)
    ]
    assert not list(tmp_path.glob("*.part"))


def test_files_roll_by_age_even_without_new_entries(tmp_path: Path) -> None:
    clock = Clock()
    local = transport(tmp_path, clock)
    local.publish(ENTRIES, synthetic_line(0), timeout_s=1)
    local.maintain()
    assert not list(tmp_path.glob("*.ndjson")), "not due yet"

    clock.now += 61
    local.maintain()

    assert len(list(tmp_path.glob("*.ndjson"))) == 1
    assert not list(tmp_path.glob("*.part"))


def test_health_goes_to_its_own_directory(tmp_path: Path) -> None:
    local = transport(tmp_path, Clock())
    local.publish(HEALTH, b'{"schema":"anonflow.health/1"}\n', timeout_s=1)
    local.publish(ENTRIES, synthetic_line(0), timeout_s=1)
    local.close()

    assert len(list((tmp_path / "health").glob("health-store1-gw1-*.ndjson"))) == 1
    assert len(list(tmp_path.glob("entries-*.ndjson"))) == 1


def test_unknown_topic_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TransportError, match="no file stream"):
        transport(tmp_path, Clock()).publish("anonflow/v1/store1/cam1/other", b"{}\n", timeout_s=1)


@pytest.mark.parametrize(
    ("content", "expected_lines"),
    [(b'{"a":1}\n{"a":2}\n{"a"', 2), (b'{"a":1}\n', 1), (b'{"a', 0), (b"", 0)],
    ids=["torn-last-line", "whole", "only-torn", "empty"],
)
def test_leftover_part_files_are_cut_to_whole_lines_and_finished(
    tmp_path: Path, content: bytes, expected_lines: int
) -> None:
    part = tmp_path / "entries-store1-gw1-20260101T000000000Z-0000.ndjson.part"
    part.write_bytes(content)

    recover_parts(tmp_path)

    assert not part.exists()
    finished = list(tmp_path.glob("*.ndjson"))
    if expected_lines:
        assert len(finished) == 1 and finished[0].read_bytes().endswith(b"\n")
        assert len(unpack(finished[0].read_bytes())) == expected_lines
    else:
        assert finished == []


def test_a_new_run_recovers_and_never_reuses_a_name(tmp_path: Path) -> None:
    clock = Clock()
    first = transport(tmp_path, clock)
    first.publish(ENTRIES, synthetic_line(0), timeout_s=1)
    # The process dies here: the .part stays. A new run at the same millisecond starts over.
    second = transport(tmp_path, clock)
    second.publish(ENTRIES, synthetic_line(1), timeout_s=1)
    second.close()

    names = sorted(f.name for f in tmp_path.glob("*.ndjson"))
    assert len(names) == 2 and len(set(names)) == 2
    lines = [line for name in names for line in unpack((tmp_path / name).read_bytes())]
    assert lines == [synthetic_line(0).rstrip(b"\n"), synthetic_line(1).rstrip(b"\n")]
