"""Bad input the edge meets in stores: damaged video files and crowded frames. No crash, all counted."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from anonflow.cli.main import main
from anonflow.contract import committed_entry_schema
from anonflow.edge.config import CameraChainConfig


@pytest.fixture(scope="module")
def damaged_videos(tmp_path_factory: pytest.TempPathFactory, video_dir: Path) -> dict[str, Path]:
    """Real sample videos with garbage written over parts of their middle, and one cut in half."""
    directory = tmp_path_factory.mktemp("damaged")
    data = bytearray((video_dir / "vtest-480x360.avi").read_bytes())
    rng = random.Random(3)
    for k in range(20):  # 20 stretches of 2 kB of noise across the middle of the stream
        start = len(data) // 4 + k * (len(data) // 60)
        data[start : start + 2000] = bytes(rng.randrange(256) for _ in range(2000))
    (directory / "garbled.avi").write_bytes(bytes(data))
    whole = (video_dir / "one-by-one-person-detection.mp4").read_bytes()
    (directory / "truncated.mp4").write_bytes(whole[: len(whole) // 2])
    return {"garbled": directory / "garbled.avi", "truncated": directory / "truncated.mp4"}


def _analyze(
    video: Path, out: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[str, list[dict]]:  # type: ignore[type-arg]
    code = main(
        [
            "analyze",
            str(video),
            "--entries",
            str(out),
            "--start-time",
            "2026-11-21T10:00:00Z",
            "--no-progress",
            *extra,
        ]
    )
    assert code == 0
    entries = [json.loads(line) for line in out.read_text().splitlines()]
    schema = committed_entry_schema()
    for entry in entries:
        jsonschema.validate(entry, schema)
    return capsys.readouterr().out, entries


def test_garbled_frames_are_skipped_and_counted(
    damaged_videos: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, entries = _analyze(damaged_videos["garbled"], tmp_path / "e.ndjson", capsys, "--fps", "2")
    frames_line = next(line for line in out.splitlines() if line.startswith("frames"))
    corrupted = int(frames_line.split(",")[-1].split()[0])
    assert corrupted > 0, frames_line
    assert entries  # the readable frames still produce entries


def test_a_truncated_file_ends_with_a_count_not_a_crash(
    damaged_videos: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out, entries = _analyze(damaged_videos["truncated"], tmp_path / "e.ndjson", capsys, "--fps", "1")
    assert "unreadable from frame" in out and "of 1394: truncated?" in out
    assert entries


def test_fifty_people_in_one_frame(make_chain: Callable[..., object], clip: Callable[..., list]) -> None:  # type: ignore[type-arg]
    """A 5 x 4 mosaic of store-aisle frames: about fifty real shoppers at once."""
    frames = clip("store-aisle-detection.gif", 60)
    tiles = [frames[i * 3] for i in range(20)]
    mosaic = np.concatenate([np.concatenate(tiles[r * 5 : (r + 1) * 5], axis=1) for r in range(4)], axis=0)
    chain = make_chain(CameraChainConfig(pose_input_height=768))
    result = chain.process(mosaic, 1_795_255_200_000)  # type: ignore[attr-defined]
    assert result.detected >= 40
    assert len(result.entries) >= 30
    assert len({e.track_id for e in result.entries}) == len(result.entries)
    # Everyone is accounted for: tracked, gated out, uncroppable, or too unsure to start a track.
    accounted = len(result.people) + result.gated_out + result.unusable_crops + result.unconfirmed
    assert accounted == result.detected
