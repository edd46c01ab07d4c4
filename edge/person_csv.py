"""`--csv`: one row per tracked person per analysed frame, in the shape face-based counters export.

Columns: frame, person_id, x, y, w, h, age_min, age_max, gender. The person id is the track id (random
per run); the box is the anonymous crop rectangle in frame pixels (shoulders down, never the head); age
and gender come from the track's smoothed reading of head-free crops. Unknown values are empty cells.
No pixels and no key points are written.
"""

from __future__ import annotations

import csv
from pathlib import Path

from anonflow.contract.entry import AgeBand, AgeGroup, Demographics, Gender
from anonflow.edge.chain import FrameResult, TrackedPerson
from anonflow.edge.video import VideoFrame

COLUMNS = ("frame", "person_id", "x", "y", "w", "h", "age_min", "age_max", "gender")

# Age band (where a customer-trained model reads one) -> (age_min, age_max); None is an empty cell
# (an open-ended or unknown bound).
AGE_BOUNDS: dict[AgeBand, tuple[int | None, int | None]] = {
    AgeBand.CHILD: (0, 17),
    AgeBand.YOUNG: (18, 34),
    AgeBand.MIDDLE: (35, 54),
    AgeBand.SENIOR: (55, None),
    AgeBand.UNKNOWN: (None, None),
}
# Age group -> (age_min, age_max), where the model reads no finer band.
GROUP_BOUNDS: dict[AgeGroup, tuple[int | None, int | None]] = {
    AgeGroup.CHILD: (0, 17),
    AgeGroup.ADULT: (18, 54),
    AgeGroup.SENIOR: (55, None),
    AgeGroup.UNKNOWN: (None, None),
}


def person_row(frame_index: int, person: TrackedPerson) -> list[str]:
    """The CSV cells of one person in one frame."""
    x0, y0, x1, y1 = (int(v) for v in person.box)
    return [
        str(frame_index),
        person.track_id,
        str(x0),
        str(y0),
        str(x1 - x0),
        str(y1 - y0),
        *_labels(person.demographics),
    ]


def _labels(reading: Demographics) -> list[str]:
    low, high = GROUP_BOUNDS[reading.age_group] if reading.age_band is None else AGE_BOUNDS[reading.age_band]
    gender = "" if reading.gender is Gender.UNKNOWN else reading.gender.value
    return ["" if low is None else str(low), "" if high is None else str(high), gender]


class PersonCsvWriter:
    """A `FrameSink` writing `COLUMNS` rows to `path` (via `path.part`, renamed when the run completes).

    Frames the pose model skipped (detect_every > 1) have no people and so no rows.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._partial = path.with_name(path.name + ".part")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self._partial.open("w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._file)
        self._writer.writerow(COLUMNS)
        self.rows = 0

    def add(self, frame: VideoFrame, result: FrameResult) -> None:
        for person in result.people:
            self._writer.writerow(person_row(frame.index, person))
            self.rows += 1

    def finish(self) -> str:
        self._file.close()
        self._partial.replace(self.path)
        return f"csv              {self.rows} person rows in {self.path}"

    def abort(self) -> None:
        self._file.close()
        self._partial.unlink(missing_ok=True)
