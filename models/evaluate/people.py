"""Demographics measured through the whole edge chain, person by person, as a store camera would see them.

Each labelled person (a whole-person image, PA-100K layout) is shown alone for a short clip: placed on a
neutral canvas as the training crops are (`models.headfree.place`), with a small random shift and scale
change every frame, as someone standing and shifting weight in front of a camera. The clips follow each
other through ONE chain (pose, gate, crop, head zones, face check, attribute model, tracker, entries), with
an empty pause longer than the tracker's lost buffer in between, so every person must start a new track
exactly as a new shopper would (no first-frame shortcut of a fresh tracker).

Per person the outcome is what the product would publish: the majority label over the entries of the
person's track(s), ignoring unknown (as `dataflow.journeys` does), and the last smoothed probabilities
(research entries carry them) for the coverage/accuracy curve. People never tracked count as not named:
coverage is over every labelled person shown, not only those tracked. For those never tracked the chain's
own counts say why: never detected, detected but refused by the gate or crop, or gated but never confirmed
by the tracker.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import cv2
import numpy as np
import numpy.typing as npt

from anonflow.contract.entry import ResearchEntry
from anonflow.contract.errors import InputError
from anonflow.edge.chain import EdgeChain, build_chain
from anonflow.edge.config import CameraChainConfig
from anonflow.edge.demographics import Abstention
from anonflow.models.crops import HEADS, UNKNOWN, read_labels
from anonflow.models.evaluate.demographics import CURVE_MARGINS, age_figures, at_coverage, gender_figures
from anonflow.models.headfree import CANVAS, place

PAUSE_S: Final = 3.0  # empty frames between people: longer than the tracker's lost buffer (1 s)
AGE_CURVE_FLOORS: Final = (0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8)
TARGET_COVERAGE: Final = 0.7  # the product's aim: a gender for 70 % of people shown
START_MS: Final = 1_767_225_600_000  # 2026-01-01 00:00 UTC: entries must carry a plausible time


@dataclass(frozen=True, slots=True)
class ClipSettings:
    """frames: frames each person is shown; fps: their rate; shift_px / scale: the largest random
    shift (pixels) and relative size change per frame; seed: the jitter's random stream."""

    frames: int = 12
    fps: float = 6.0
    shift_px: float = 4.0
    scale: float = 0.06
    seed: int = 0

    def __post_init__(self) -> None:
        if not (1 <= self.frames <= 600 and 0.5 <= self.fps <= 60 and 0 <= self.shift_px <= 32):
            raise InputError(f"clip settings out of range: {self}")
        if not 0.0 <= self.scale <= 0.3:
            raise InputError(f"clip scale jitter must be in [0, 0.3], got {self.scale}")


@dataclass(frozen=True, slots=True)
class PersonOutcome:
    """One person's clip through the chain.

    pose_frames: frames the pose model ran on; detected / usable: of those, frames where someone was
    found / passed the gate with a usable crop; unconfirmed: usable detections no track took; tracks:
    distinct track ids; gender / age_group: the published (majority) labels, "unknown" if none;
    probabilities: the last entry's smoothed attribute probabilities by label (empty if never read).
    """

    file: str
    truth: tuple[int, ...]
    pose_frames: int
    detected: int
    usable: int
    unconfirmed: int
    face_dropped: int
    tracks: int
    gender: str
    age_group: str
    probabilities: dict[str, float]

    @property
    def why_untracked(self) -> str:
        if self.tracks:
            return ""
        if not self.detected:
            return "never detected"
        if not self.usable:
            return "refused by gate or crop"
        return "never confirmed by the tracker"


def jittered(
    image: npt.NDArray[np.uint8], rng: np.random.Generator, settings: ClipSettings
) -> npt.NDArray[np.uint8]:
    """The person placed on the canvas, scaled by up to +-`scale` and shifted by up to `shift_px`."""
    factor = 1.0 + rng.uniform(-settings.scale, settings.scale)
    dx, dy = rng.uniform(-settings.shift_px, settings.shift_px, 2)
    frame = place(image)
    centre = (CANVAS[1] / 2, CANVAS[0] / 2)
    matrix = cv2.getRotationMatrix2D(centre, 0.0, factor)
    matrix[:, 2] += (dx, dy)
    warped = cv2.warpAffine(
        frame, matrix, (CANVAS[1], CANVAS[0]), borderMode=cv2.BORDER_CONSTANT, borderValue=(114, 114, 114)
    )
    out: npt.NDArray[np.uint8] = np.asarray(warped, np.uint8)
    return out


def show_people(
    chain: EdgeChain, folder: Path, people: Sequence[tuple[str, list[int]]], settings: ClipSettings
) -> list[PersonOutcome]:
    """Run each person's clip through `chain` (research entries), one after another with pauses."""
    rng = np.random.default_rng(settings.seed)
    blank = np.full((*CANVAS, 3), 114, np.uint8)
    step_ms = 1000.0 / settings.fps
    now = float(START_MS)
    outcomes = []
    for name, truth in people:
        path = folder / "images" / name
        image = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
        if image is None:
            raise InputError(f"image {path} is missing or not a readable image")
        counts = Counter[str]()
        genders, ages = Counter[str](), Counter[str]()
        track_ids: set[str] = set()
        last: dict[str, float] = {}
        for _ in range(settings.frames):
            result = chain.process(jittered(np.asarray(image, np.uint8), rng, settings), int(now))
            now += step_ms
            if result.pose_ran:
                counts["pose"] += 1
                counts["detected"] += result.detected > 0
                counts["usable"] += result.detected - result.gated_out - result.unusable_crops > 0
            counts["unconfirmed"] += result.unconfirmed
            counts["face"] += result.face_dropped
            track_ids.update(p.track_id for p in result.people)
            for entry in result.entries:
                genders[entry.demographics.gender.value] += 1
                ages[entry.demographics.age_group.value] += 1
                if isinstance(entry, ResearchEntry):
                    last = dict(entry.research.attributes)
        for _ in range(2 * chain.config.detect_every):  # the pause ends the track (lost buffer)
            now += PAUSE_S * 1000 / (2 * chain.config.detect_every)
            chain.process(blank, int(now))
        outcomes.append(
            PersonOutcome(
                file=name,
                truth=tuple(truth),
                pose_frames=counts["pose"],
                detected=counts["detected"],
                usable=counts["usable"],
                unconfirmed=counts["unconfirmed"],
                face_dropped=counts["face"],
                tracks=len(track_ids),
                gender=_majority(genders),
                age_group=_majority(ages),
                probabilities=last,
            )
        )
    return outcomes


def _majority(counts: Counter[str]) -> str:
    """The most frequent known label; unknown on a tie or when nothing is known (as the journeys do)."""
    ranked = Counter({k: n for k, n in counts.items() if k != "unknown"}).most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return "unknown"
    return ranked[0][0]


def summarise(outcomes: Sequence[PersonOutcome]) -> dict[str, Any]:
    """Tracked share with the reasons for the rest; gender accuracy (over named) and coverage (over every
    labelled person shown); the gender curve over margins on the last smoothed P(male); age-group
    balanced accuracy and coverage."""
    n = len(outcomes)
    reasons = Counter(o.why_untracked for o in outcomes if not o.tracks)
    out: dict[str, Any] = {
        "people": n,
        "tracked": sum(1 for o in outcomes if o.tracks) / n if n else float("nan"),
        "untracked_reasons": dict(reasons),
        "split_tracks": sum(1 for o in outcomes if o.tracks > 1),
        "face_dropped_crops": sum(o.face_dropped for o in outcomes),
    }
    genders = HEADS["gender"]
    truth = np.array([o.truth[0] for o in outcomes], np.int64)
    said = np.array([genders.index(o.gender) if o.gender in genders else UNKNOWN for o in outcomes])
    known = truth != UNKNOWN
    named = known & (said != UNKNOWN)
    out["gender"] = {
        "labelled": int(known.sum()),
        "named": int(named.sum()),
        "coverage": float(named.sum() / known.sum()) if known.any() else float("nan"),
        "accuracy": float((said[named] == truth[named]).mean()) if named.any() else float("nan"),
    }
    # Never read: P(male) exactly 0.5, so no margin names it.
    p_male = np.array([o.probabilities.get("male", 0.5) for o in outcomes], np.float32)
    out["gender_curve"] = [gender_figures(p_male, truth, m) for m in CURVE_MARGINS]
    out["gender_at_target"] = at_coverage(p_male, truth, TARGET_COVERAGE)
    groups = HEADS["age_group"]
    age_truth = np.array([o.truth[1] for o in outcomes], np.int64)
    age_said = np.array([groups.index(o.age_group) if o.age_group in groups else UNKNOWN for o in outcomes])
    age_known = age_truth != UNKNOWN
    age_named = age_known & (age_said != UNKNOWN)
    recalls = [
        float((age_said[age_named & (age_truth == c)] == c).mean())
        for c in range(len(groups))
        if (age_named & (age_truth == c)).any()
    ]
    out["age_group"] = {
        "labelled": int(age_known.sum()),
        "named": int(age_named.sum()),
        "coverage": float(age_named.sum() / age_known.sum()) if age_known.any() else float("nan"),
        "balanced_accuracy": float(np.mean(recalls)) if recalls else float("nan"),
    }
    columns = ["age_" + g for g in groups]
    if all(c in o.probabilities for o in outcomes if o.probabilities for c in columns):
        # Never read: all zeros, so no floor names it.
        ages = np.array([[o.probabilities.get(c, 0.0) for c in columns] for o in outcomes], np.float32)
        out["age_curve"] = [
            {"min_probability": f} | age_figures(ages, age_truth, f) for f in AGE_CURVE_FLOORS
        ]
    return out


def measure_people(
    folder: Path,
    model_dir: Path,
    *,
    attribute_model: str,
    files: Sequence[str] | None = None,
    config: CameraChainConfig | None = None,
    settings: ClipSettings = ClipSettings(),
    threads: int = 2,
) -> tuple[list[PersonOutcome], dict[str, Any], Abstention]:
    """Outcomes and summary of the labelled people of `folder` (only `files` when given) shown one by
    one through a chain built with `attribute_model`; also the abstention thresholds that chain used."""
    rows = read_labels(folder / "labels.csv")
    if files is not None:
        wanted = set(files)
        rows = [r for r in rows if r[0] in wanted]
        missing = wanted - {r[0] for r in rows}
        if missing:
            raise InputError(f"{len(missing)} people are not in {folder / 'labels.csv'}, e.g. {min(missing)}")
    if not rows:
        raise InputError(f"no labelled people to show from {folder}")
    base = config if config is not None else CameraChainConfig()
    chain_config = base.model_copy(update={"attribute_model": attribute_model, "entry_detail": "research"})
    chain = build_chain(
        chain_config, store_id="evaluation", camera_id="people", model_dir=model_dir, threads=threads
    )
    outcomes = show_people(chain, folder, rows, settings)
    return outcomes, summarise(outcomes), chain.attributes.abstention
