"""Entry files: found under a directory at any depth, partial and empty files skipped, gzip detected by
content whatever the name; a cut-off gzip upload, an over-long line and a gzip bomb each end in a problem
(a dead letter) while the rest is read, in bounded memory."""

from __future__ import annotations

import gzip
import tracemalloc
from pathlib import Path

import pytest

from anonflow.contract.errors import InputError
from anonflow.dataflow.transforms.read import FileProblem, ReadLimits, entry_files, file_lines


def test_files_at_any_depth_without_partial_or_empty_ones(tmp_path: Path) -> None:
    (tmp_path / "2024" / "05").mkdir(parents=True)
    (tmp_path / "2024" / "05" / "a.ndjson").write_text("{}\n")
    (tmp_path / "b").write_bytes(gzip.compress(b"{}\n"))
    (tmp_path / "c.ndjson.part").write_text("{}\n")
    (tmp_path / "empty.ndjson").write_text("")
    assert [Path(f).name for f in entry_files(str(tmp_path))] == ["a.ndjson", "b"]
    assert [Path(f).name for f in entry_files(str(tmp_path / "2024" / "*" / "*.ndjson"))] == ["a.ndjson"]
    with pytest.raises(InputError, match="does not exist"):
        entry_files(str(tmp_path / "none"))


LIMITS = ReadLimits(max_line_bytes=64, max_file_bytes=4096)
BOMB = gzip.compress(b"0" * (64 << 20))  # 64 MiB of zeros in some 64 KB: one endless line


def _text(item: tuple[str, str] | FileProblem) -> tuple[str, str]:
    if isinstance(item, FileProblem):
        return (Path(item.source).name, f"! {item.reason}")
    return (Path(item[0]).name, item[1])


# (name, file body, expected (source, text or "! reason") in order; reasons compared by their start)
CASES = [
    (
        "plain.ndjson",
        b'{"a": 1}\n\n{"b": 2}\n',
        [("plain.ndjson:1", '{"a": 1}'), ("plain.ndjson:3", '{"b": 2}')],
    ),
    ("crlf.ndjson", b'{"a": 1}\r\n', [("crlf.ndjson:1", '{"a": 1}')]),
    ("firehose-object", gzip.compress(b'{"a": 1}\n'), [("firehose-object:1", '{"a": 1}')]),
    (
        "two-members.gz",
        gzip.compress(b"x\n") + gzip.compress(b"y\n"),
        [("two-members.gz:1", "x"), ("two-members.gz:2", "y")],
    ),
    (
        "huge-line.ndjson",
        b"x\n" + b"y" * 1000 + b"\nz\n",
        [
            ("huge-line.ndjson:1", "x"),
            ("huge-line.ndjson:2", "! line longer than 64 bytes"),
            ("huge-line.ndjson:3", "z"),
        ],
    ),
    ("line-at-the-cap.ndjson", b"y" * 64 + b"\n", [("line-at-the-cap.ndjson:1", "y" * 64)]),
    (
        "big.ndjson",
        b"x\n" * 3000,
        [
            *[(f"big.ndjson:{i}", "x") for i in range(1, 2049)],
            ("big.ndjson", "! file holds more than 4096 bytes"),
        ],
    ),
    ("bomb.gz", BOMB, [("bomb.gz", "! file holds more than 4096 bytes")]),
]


@pytest.mark.parametrize(("name", "body", "expected"), CASES, ids=[c[0] for c in CASES])
def test_lines(tmp_path: Path, name: str, body: bytes, expected: list[tuple[str, str]]) -> None:
    (tmp_path / name).write_bytes(body)
    got = [_text(item) for item in file_lines(str(tmp_path / name), LIMITS)]
    # Reasons are compared by their start: the gzip library words the cut-off error its own way.
    assert [
        (source, text[: len(want)]) for (source, text), (_, want) in zip(got, expected, strict=True)
    ] == expected


def test_a_cut_off_upload_keeps_its_whole_lines_and_reports_the_rest(tmp_path: Path) -> None:
    (tmp_path / "cut.gz").write_bytes(gzip.compress(b'{"a": 1}\n' * 50)[:-12])
    *lines, last = [_text(item) for item in file_lines(str(tmp_path / "cut.gz"), LIMITS)]
    # How many lines come out before the error depends on the decompressor's buffering.
    assert all(text == '{"a": 1}' for _, text in lines) and len(lines) <= 50
    assert last[1].startswith("! unreadable gzip data")


def test_a_gzip_bomb_is_read_in_bounded_memory(tmp_path: Path) -> None:
    (tmp_path / "bomb").write_bytes(BOMB)
    tracemalloc.start()
    try:
        problems = list(
            file_lines(str(tmp_path / "bomb"), ReadLimits(max_line_bytes=1 << 20, max_file_bytes=32 << 20))
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [_text(p)[1][:30] for p in problems] == ["! file holds more than 3355443"]
    assert peak < 16 << 20  # a few line buffers, not the 64 MiB the file inflates to


def test_limits_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="max_line_bytes <= max_file_bytes"):
        ReadLimits(max_line_bytes=10, max_file_bytes=5)
