"""Which crops are cut, face-checked and classified: a track is read only until it holds enough readings.

The real models on the store aisle clip; the face check is the real one, wrapped so the test sees every
crop it is handed (and, in one case, told to report a face).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from anonflow.edge.appearance import DailyKeys
from anonflow.edge.attributes import load_attribute_model
from anonflow.edge.chain import EdgeChain, FrameResult
from anonflow.edge.config import CameraChainConfig
from anonflow.edge.facecheck import FaceCheck
from anonflow.edge.modelfiles.registry import default_model
from anonflow.edge.pose.model import load_pose_model
from anonflow.edge.tracking.bytetrack import ByteTrack

START_MS = 1_795_255_200_000
FPS = 16.7
Crops = npt.NDArray[np.uint8]


class SpyFaceCheck:
    """The real face check, counting the crops it is handed; `faces_on_call` reports a face on every
    crop of that call (0-based) as well, so the chain's handling of a face can be watched."""

    def __init__(self, faces_on_call: int | None = None) -> None:
        self._real = FaceCheck(CameraChainConfig().face_check)
        self.checked = 0
        self.calls = 0
        self._faces_on_call = faces_on_call

    def __call__(self, crops: Crops) -> npt.NDArray[np.bool_]:
        found = self._real(crops)
        if self.calls == self._faces_on_call:
            found = np.ones(len(crops), bool)
        self.calls += 1
        self.checked += len(crops)
        return found


@pytest.fixture(scope="module")
def aisle(
    model_dir: Path, clip: Callable[[str, int], list[npt.NDArray[np.uint8]]]
) -> Callable[[CameraChainConfig, SpyFaceCheck], list[FrameResult]]:
    pose = load_pose_model(default_model("pose"), model_dir, threads=2)
    attributes = load_attribute_model(default_model("attributes"), model_dir, threads=1)
    frames = clip("store-aisle-detection.gif", 40)

    def run(config: CameraChainConfig, face_check: SpyFaceCheck) -> list[FrameResult]:
        chain = EdgeChain(
            config=config,
            store_id="test-store",
            camera_id="test-cam",
            pose_model=pose,
            attribute_model=attributes,
            tracker=ByteTrack(),
            face_check=face_check,
            appearance_key=DailyKeys(None, "test-store"),
            keep_crops=True,
        )
        return [chain.process(f, START_MS + round(i * 1000 / FPS)) for i, f in enumerate(frames)]

    return run


def test_a_track_is_read_only_until_it_holds_its_readings(aisle) -> None:  # type: ignore[no-untyped-def]
    spy = SpyFaceCheck()
    results = aisle(CameraChainConfig(attribute_readings=3), spy)
    read = Counter(track for r in results for track in r.crop_track_ids)
    assert read and max(read.values()) == 3
    # Only crops that are classified are face-checked (none is dropped on this clip).
    assert spy.checked == sum(read.values())
    # Entries go on after a track's last reading, carrying the mean of its readings.
    later = [e for r in results for e in r.entries if e.track_id not in r.crop_track_ids]
    assert later and all(e.track_id in read for e in later)


def test_reading_without_a_limit_checks_more_crops(aisle) -> None:  # type: ignore[no-untyped-def]
    """Control: with no limit (0) the same clip's tracks are read every half second while they live
    (2.4 s of video here: up to five readings; on a shopper's whole visit, dozens)."""
    limited, unlimited = SpyFaceCheck(), SpyFaceCheck()
    aisle(CameraChainConfig(attribute_readings=3), limited)
    results = aisle(CameraChainConfig(attribute_readings=0), unlimited)
    assert max(Counter(t for r in results for t in r.crop_track_ids).values()) > 3
    assert unlimited.checked > limited.checked


def test_a_crop_with_a_face_is_never_classified_and_the_track_is_read_again(aisle) -> None:  # type: ignore[no-untyped-def]
    spy = SpyFaceCheck(faces_on_call=0)
    results = aisle(CameraChainConfig(attribute_readings=2), spy)
    first = next(r for r in results if r.face_dropped)
    assert first.crops is not None and len(first.crops) == 0 and first.crop_track_ids == ()
    read = Counter(track for r in results for track in r.crop_track_ids)
    # The dropped reading does not count: the tracks it was for still reach their two readings later.
    dropped_for = {p.track_id for p in first.people}
    assert dropped_for and all(read[track] == 2 for track in dropped_for)
