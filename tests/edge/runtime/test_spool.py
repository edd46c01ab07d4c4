"""The SQLite spool: order, durability across reopen and kill -9, acknowledgement, bounds, full disk."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from anonflow.edge.runtime.batch import unpack
from anonflow.edge.runtime.spool import Spool
from tests.kit.synthetic import synthetic_id as entry_id
from tests.kit.synthetic import synthetic_line as entry_line

TOPIC_A = "anonflow/v1/store1/cam1/entries"
TOPIC_B = "anonflow/v1/store1/cam2/entries"


def ids_of(payload: bytes) -> list[str]:
    return [json.loads(line)["entry_id"] for line in unpack(payload)]


def drain(spool: Spool, max_payload_bytes: int = 120_000) -> list[tuple[str, list[str]]]:
    sent = []
    while (batch := spool.next_batch(max_payload_bytes)) is not None:
        sent.append((batch.topic, ids_of(batch.payload)))
        spool.ack(batch)
    return sent


def test_batches_follow_spool_order_per_topic(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10_000_000)
    spool.put([(TOPIC_A, entry_line(0, "cam1")), (TOPIC_B, entry_line(0, "cam2"))])
    spool.put([(TOPIC_A, entry_line(n, "cam1")) for n in (1, 2)])
    spool.put([(TOPIC_B, entry_line(1, "cam2"))])

    sent = drain(spool)

    # The oldest entry picks the topic; that topic's later entries ride along in the same message.
    assert sent == [
        (TOPIC_A, [entry_id("cam1", n) for n in (0, 1, 2)]),
        (TOPIC_B, [entry_id("cam2", n) for n in (0, 1)]),
    ]
    assert spool.stats().depth == 0


@pytest.mark.parametrize(
    ("lines_per_budget", "expected_sizes"), [(2.0, [2, 2, 2, 2, 2]), (4.5, [4, 4, 2]), (0.0, [1] * 10)]
)
def test_batches_stay_within_the_payload_budget(
    tmp_path: Path, lines_per_budget: float, expected_sizes: list[int]
) -> None:
    lines = [entry_line(n) for n in range(10)]
    longest = max(len(line) for line in lines)
    budget = int(lines_per_budget * longest)
    spool = Spool(tmp_path, max_bytes=10_000_000, max_line_bytes=longest)
    spool.put([(TOPIC_A, line) for line in lines])

    sizes = []
    while (batch := spool.next_batch(budget)) is not None:
        # A single line always moves, even over a (misconfigured) budget smaller than one entry.
        assert len(batch.payload) <= max(budget, longest)
        sizes.append(len(batch))
        spool.ack(batch)

    assert sizes == expected_sizes


def test_unacknowledged_entries_survive_reopen_and_come_again(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10_000_000)
    spool.put([(TOPIC_A, entry_line(n)) for n in range(5)])
    first = spool.next_batch(3 * len(entry_line(0)))
    assert first is not None and len(first) == 3
    spool.ack(first)
    unacked = spool.next_batch(120_000)  # taken but never acknowledged: the publish failed
    assert unacked is not None
    spool.close()

    reopened = Spool(tmp_path, max_bytes=10_000_000)

    assert reopened.stats().depth == 2
    assert drain(reopened) == [(TOPIC_A, [entry_id("cam1", n) for n in (3, 4)])]


def test_committed_entries_survive_kill_9(tmp_path: Path) -> None:
    # A writer process spools entries one commit at a time and reports each commit; we SIGKILL it
    # mid-stream. Every reported commit must be in the spool afterwards.
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from tests.kit.synthetic import synthetic_line as entry_line
        from anonflow.edge.runtime.spool import Spool
        spool = Spool(Path({str(tmp_path)!r}), max_bytes=100_000_000)
        n = 0
        while True:
            spool.put([({TOPIC_A!r}, entry_line(n))])
            print(n, flush=True)
            n += 1
        """
    )
    writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    reported = [int(writer.stdout.readline()) for _ in range(30)]
    writer.send_signal(signal.SIGKILL)
    writer.wait(10)

    after = drain(Spool(tmp_path, max_bytes=100_000_000))

    ids = [i for _, batch in after for i in batch]
    assert ids[: len(reported)] == [entry_id("cam1", n) for n in reported]
    assert ids == [entry_id("cam1", n) for n in range(len(ids))], "in order, no gaps"


def test_bound_evicts_oldest_first_and_counts_it(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    line_bytes = len(entry_line(0))
    spool = Spool(tmp_path, max_bytes=10 * line_bytes + 10, max_line_bytes=line_bytes + 10)

    with caplog.at_level(logging.WARNING, logger="anonflow.edge.runtime.spool"):
        for n in range(25):
            spool.put([(TOPIC_A, entry_line(n))])

    stats = spool.stats()
    assert stats.depth == 10
    assert stats.evicted_entries == 15
    assert stats.bytes <= spool.max_bytes
    assert [i for _, b in drain(spool) for i in b] == [entry_id("cam1", n) for n in range(15, 25)]
    assert any("evicted the 1 oldest" in r.getMessage() for r in caplog.records)
    # The eviction count is kept on disk: a restart still reports what was lost.
    spool.close()
    assert (
        Spool(tmp_path, max_bytes=10 * line_bytes + 10, max_line_bytes=line_bytes + 10)
        .stats()
        .evicted_entries
        == 15
    )


def test_full_disk_evicts_oldest_and_keeps_going(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # A hard page limit makes SQLite report SQLITE_FULL exactly as a full disk does.
    spool = Spool(tmp_path, max_bytes=1_000_000_000, hard_limit_bytes=200 * 1024)

    with caplog.at_level(logging.ERROR, logger="anonflow.edge.runtime.spool"):
        for first in range(0, 400, 5):
            assert spool.put([(TOPIC_A, entry_line(n)) for n in range(first, first + 5)]) == 5

    stats = spool.stats()
    assert stats.evicted_entries > 0
    assert stats.depth + stats.evicted_entries == 400
    assert stats.dropped_entries == 0
    assert any("spool disk full" in r.getMessage() for r in caplog.records)
    ids = [i for _, b in drain(spool) for i in b]
    assert ids == [entry_id("cam1", n) for n in range(400 - len(ids), 400)], "the newest survive, in order"


@pytest.mark.parametrize(
    ("line", "reason"),
    [(b'{"x": "' + b"a" * 5_000 + b'"}\n', "over the"), (b'{"x": 1}', "not one NDJSON line")],
)
def test_unsendable_lines_are_refused_loudly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, line: bytes, reason: str
) -> None:
    spool = Spool(tmp_path, max_bytes=1_000_000, max_line_bytes=4_096)

    with caplog.at_level(logging.ERROR, logger="anonflow.edge.runtime.spool"):
        stored = spool.put([(TOPIC_A, line), (TOPIC_A, entry_line(1))])

    assert stored == 1
    assert spool.stats().dropped_entries == 1
    assert any(reason in r.getMessage() for r in caplog.records)
