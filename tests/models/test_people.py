"""People shown alone and whole through the real edge chain are tracked, and their labels published.

The person is a shopper cut (head included) from a frame of the one-by-one sample video, then blurred and
flattened in contrast as a small, poorly lit person on a store camera looks: the pose network finds every
core point (the gate passes them) but scores them near 0.55, under ByteTrack's paper threshold (0.6) for
starting a track. That was why a third of the benchmark's people shown alone were never tracked.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from anonflow.edge.appearance import DailyKeys
from anonflow.edge.attributes import load_attribute_model
from anonflow.edge.chain import EdgeChain
from anonflow.edge.config import CameraChainConfig
from anonflow.edge.modelfiles.registry import default_model
from anonflow.edge.pose.model import load_pose_model
from anonflow.edge.tracking.bytetrack import ByteTrack, ByteTrackConfig
from anonflow.models.evaluate.people import ClipSettings, PersonOutcome, show_people, summarise
from anonflow.models.frames import sample_frames

FRAME, BOX = 100, (slice(0, 400), slice(340, 560))  # one-by-one frame 100: one shopper, whole


def dim_person(video_dir: Path) -> npt.NDArray[np.uint8]:
    frame = sample_frames(video_dir / "one-by-one-person-detection.mp4", 2, FRAME)[1].image
    person = cv2.GaussianBlur(np.ascontiguousarray(frame[BOX]), (0, 0), 4)
    return np.clip(128 + (person.astype(np.float32) - 128) * 0.2, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def people_folder(tmp_path_factory: pytest.TempPathFactory, video_dir: Path) -> Path:
    folder = tmp_path_factory.mktemp("people")
    (folder / "images").mkdir()
    cv2.imwrite(str(folder / "images" / "dim.png"), dim_person(video_dir))
    (folder / "labels.csv").write_text("file,gender,age_group,orientation\ndim.png,male,adult,front\n")
    return folder


def chain(model_dir: Path, tracker: ByteTrackConfig) -> EdgeChain:
    config = CameraChainConfig(entry_detail="research")
    return EdgeChain(
        config=config,
        store_id="evaluation",
        camera_id="people",
        pose_model=load_pose_model(default_model("pose"), model_dir, threads=2),
        attribute_model=load_attribute_model(default_model("attributes"), model_dir),
        tracker=ByteTrack(tracker),
        face_check=lambda crops: np.zeros(len(crops), bool),  # the face check has its own tests
        appearance_key=DailyKeys(None, "evaluation"),
    )


def shown(model_dir: Path, folder: Path, tracker: ByteTrackConfig) -> PersonOutcome:
    # A person to start the clip, then the same person again: the second clip is the one measured, so
    # the tracker's first-frame shortcut (everyone present at start-up is confirmed at once) plays no part.
    rows = [("dim.png", [1, 1, 0])] * 2
    outcomes = show_people(chain(model_dir, tracker), folder, rows, ClipSettings(frames=12, fps=6.0))
    return outcomes[1]


@pytest.mark.parametrize(
    ("tracker", "tracked"),
    [
        (ByteTrackConfig(), True),
        # Positive control: the paper's rule (a track starts only from 0.6, and continues, in every frame,
        # only on high-score detections) never tracks this person.
        (
            ByteTrackConfig(weak_start_score=0.6, weak_start_hits=2, weak_keep_score=0.5, tentative_misses=0),
            False,
        ),
    ],
)
def test_a_dim_person_shown_alone_is_tracked(
    model_dir: Path, people_folder: Path, tracker: ByteTrackConfig, tracked: bool
) -> None:
    outcome = shown(model_dir, people_folder, tracker)
    assert outcome.usable == outcome.pose_frames == 6  # the gate passes them in every pose frame
    assert bool(outcome.tracks) == tracked
    if tracked:
        assert outcome.tracks == 1 and outcome.probabilities  # one track, read and published
    else:
        assert outcome.why_untracked == "never confirmed by the tracker"


def test_summary_counts_the_untracked_as_not_named() -> None:
    def person(tracks: int, gender: str, truth: int, p_male: float) -> PersonOutcome:
        return PersonOutcome(
            file="x", truth=(truth, 1, -1), pose_frames=6, detected=6, usable=6, unconfirmed=0,
            face_dropped=0, tracks=tracks, gender=gender, age_group="adult" if tracks else "unknown",
            probabilities={"male": p_male} if tracks else {},
        )  # fmt: skip

    summary = summarise(
        [person(1, "male", 1, 0.9), person(1, "female", 1, 0.2), person(1, "unknown", 0, 0.55),
         person(0, "unknown", 0, 0.5)]
    )  # fmt: skip
    assert summary["tracked"] == 0.75
    assert summary["untracked_reasons"] == {"never confirmed by the tracker": 1}
    assert summary["gender"] == {"labelled": 4, "named": 2, "coverage": 0.5, "accuracy": 0.5}
    assert summary["age_group"]["coverage"] == 0.75
    assert "age_curve" not in summary  # a model without age outputs has no age curve
    at_zero = summary["gender_curve"][0]
    assert at_zero["margin"] == 0.0 and at_zero["named"] == 3  # never read: P(male) 0.5 names nobody
