"""Entry files: found under a directory at any depth, partial and empty files skipped, gzip detected by
content whatever the name, and a cut-off gzip upload reported rather than lost."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from anonflow.contract.errors import InputError
from anonflow.dataflow.transforms.read import _numbered_lines, entry_files


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


@pytest.mark.parametrize(
    ("name", "body", "expected"),
    [
        (
            "plain.ndjson",
            b'{"a": 1}\n\n{"b": 2}\n',
            [("plain.ndjson:1", '{"a": 1}'), ("plain.ndjson:3", '{"b": 2}')],
        ),
        ("firehose-object", gzip.compress(b'{"a": 1}\n'), [("firehose-object:1", '{"a": 1}')]),
        (
            "two-members.gz",
            gzip.compress(b"x\n") + gzip.compress(b"y\n"),
            [("two-members.gz:1", "x"), ("two-members.gz:2", "y")],
        ),
        ("cut.gz", gzip.compress(b'{"a": 1}\n' * 50)[:-12], [("cut.gz", "unreadable gzip data")]),
    ],
)
def test_lines(tmp_path: Path, name: str, body: bytes, expected: list[tuple[str, str]]) -> None:
    (tmp_path / name).write_bytes(body)
    got = [(Path(source).name, text) for source, text in _numbered_lines(str(tmp_path / name))]
    # Texts are compared by their start: the gzip library words the cut-off error its own way.
    assert [
        (source, text[: len(want)]) for (source, text), (_, want) in zip(got, expected, strict=True)
    ] == expected
