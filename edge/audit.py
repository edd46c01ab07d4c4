"""`--audit-dir`: sampled anonymous crops saved as JPEG, named by the entry they stand behind.

An auditor (or a regulator) opens `<entry_id>.jpg` next to the entry with that id and sees exactly the
160x80 head-free image the attribute network read in that entry's frame. A track is read only until it
holds `attribute_readings` readings, so its later entries, which carry the mean of those readings, have
no crop of their own: every crop the network read behind them was saved with an earlier entry of the
same track (when that entry was chosen). Only crops are written, never frames; nothing is written unless
the directory is asked for.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from anonflow.contract.errors import InputError
from anonflow.edge.chain import FrameResult
from anonflow.edge.video import VideoFrame

JPEG_QUALITY = 90


class AuditCropWriter:
    """A `FrameSink` saving the crop of every `every`-th entry as `directory/<entry_id>.jpg`.

    Needs a chain built with keep_crops=True. An entry whose track was not read in its frame (or whose
    crop the face check dropped) has no crop to save; those are counted, not written.
    """

    def __init__(self, directory: Path, every: int = 1) -> None:
        if every < 1:
            raise InputError(f"--audit-every must be a whole number >= 1, got {every}")
        if directory.exists() and not directory.is_dir():
            raise InputError(f"--audit-dir {directory} exists and is not a directory")
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.every = every
        self.entries_seen = 0
        self.without_crop = 0
        self.written: list[Path] = []

    def add(self, frame: VideoFrame, result: FrameResult) -> None:
        if not result.entries:
            return
        if result.crops is None:
            raise ValueError("audit crops need a chain built with keep_crops=True")
        row_of = {track_id: row for row, track_id in enumerate(result.crop_track_ids)}
        for entry in result.entries:
            self.entries_seen += 1
            if (self.entries_seen - 1) % self.every != 0:
                continue
            row = row_of.get(entry.track_id)
            if row is None:
                # Not read in this frame (readings done, or the face check dropped the crop: never saved).
                self.without_crop += 1
                continue
            self._write(entry.entry_id, result.crops[row])

    def _write(self, entry_id: str, crop: npt.NDArray[np.uint8]) -> None:
        ok, encoded = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise ValueError(f"could not encode the crop of entry {entry_id} as JPEG")
        path = self.directory / f"{entry_id}.jpg"
        partial = path.with_name(path.name + ".part")
        partial.write_bytes(encoded.tobytes())
        os.replace(partial, path)
        self.written.append(path)

    def finish(self) -> str:
        return (
            f"audit crops      {len(self.written)} of {self.entries_seen} entries "
            f"(every {self.every}; {self.without_crop} chosen had no crop read in their frame) "
            f"in {self.directory}"
        )

    def abort(self) -> None:
        for path in self.written:
            path.unlink(missing_ok=True)
        self.written.clear()
