"""`anonflow analyze`: one video file through the chain into an NDJSON entries file, as fast as it goes.

Optional local outputs (a per-person CSV, an audit preview video, sampled audit crops) are `FrameSink`s
fed from the same loop, each seeing the frame and its result once, before both are dropped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from anonflow.edge.chain import EdgeChain, FrameResult
from anonflow.edge.video import VideoFile, VideoFrame


class FrameSink(Protocol):
    """A local output written frame by frame. It must keep no frame or crop beyond `add`."""

    def add(self, frame: VideoFrame, result: FrameResult) -> None:
        """Take what it needs from one processed frame."""
        ...

    def finish(self) -> str:
        """Complete the output (rename it into place) and say in one line what was written."""
        ...

    def abort(self) -> None:
        """Remove any partial output after a failed run."""
        ...


@dataclass
class AnalyzeSummary:
    """Counts for the run summary; every frame and person is accounted for."""

    video: str
    frames: int = 0
    pose_frames: int = 0
    corrupted_frames: int = 0
    skipped_frames: int = 0
    stopped_at: int | None = None
    frame_count: int = 0
    people_detected: int = 0
    people_gated_out: int = 0
    unusable_crops: int = 0
    face_dropped: int = 0
    entries: int = 0
    track_ids: set[str] = field(default_factory=set)
    frame_ms: list[float] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    @property
    def tracks(self) -> int:
        return len(self.track_ids)

    def add(self, result: FrameResult, wall_ms: float) -> None:
        self.frames += 1
        self.pose_frames += int(result.pose_ran)
        self.people_detected += result.detected
        self.people_gated_out += result.gated_out
        self.unusable_crops += result.unusable_crops
        self.face_dropped += result.face_dropped
        self.entries += len(result.entries)
        self.track_ids.update(p.track_id for p in result.people)
        self.frame_ms.append(wall_ms)

    def lines(self) -> list[str]:
        ms = np.array(self.frame_ms) if self.frame_ms else np.zeros(1)
        return [
            f"video            {self.video}",
            f"frames           {self.frames} processed, {self.skipped_frames} skipped for rate, "
            f"{self.corrupted_frames} corrupted"
            + (
                f" (unreadable from frame {self.stopped_at} of {self.frame_count}: truncated?)"
                if self.stopped_at is not None
                else ""
            ),
            f"people           {self.people_detected} detections, {self.people_gated_out} below the gate, "
            f"{self.unusable_crops} uncroppable, {self.face_dropped} crops dropped by the face check",
            f"tracks           {self.tracks}",
            f"entries          {self.entries}",
            f"ms/frame         mean {ms.mean():.1f}, p50 {np.percentile(ms, 50):.1f}, "
            f"p95 {np.percentile(ms, 95):.1f} ({1000 / max(ms.mean(), 1e-9):.1f} fps)",
            *self.outputs,
        ]


def analyze_video(
    video: VideoFile,
    chain: EdgeChain,
    entries_path: Path,
    *,
    start_time_ms: int,
    on_frame: Callable[[FrameResult, int], None] | None = None,
    sinks: Sequence[FrameSink] = (),
    progress: bool = True,
) -> AnalyzeSummary:
    """Run every (rate-selected) frame through the chain and write its entries as NDJSON lines.

    The file is written beside its final name and renamed when complete, so a reader never sees half.
    Each sink sees every frame with its result; sinks are finished after the entries file, or aborted
    (their partial files removed) if the run fails.
    """
    from tqdm import tqdm

    summary = AnalyzeSummary(video=str(video.path))
    partial = entries_path.with_name(entries_path.name + ".part")
    entries_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with (
            partial.open("w", encoding="utf-8") as out,
            tqdm(
                total=video.frames_to_process or None,
                unit="frame",
                desc=video.path.name,
                disable=not progress,
                leave=False,
            ) as bar,
        ):
            for frame in video:
                started = time.perf_counter()
                result = chain.process(frame.image, start_time_ms + frame.offset_ms)
                for entry in result.entries:
                    out.write(entry.model_dump_json(exclude_none=True))
                    out.write("\n")
                summary.add(result, (time.perf_counter() - started) * 1000)
                for sink in sinks:
                    sink.add(frame, result)
                if on_frame is not None:
                    on_frame(result, frame.index)
                bar.update(1)
                del frame, result  # nothing of a frame outlives its turn
    except BaseException:
        for sink in sinks:
            sink.abort()
        raise
    summary.corrupted_frames = video.corrupted
    summary.skipped_frames = video.skipped
    summary.stopped_at = video.stopped_at
    summary.frame_count = video.frame_count
    partial.replace(entries_path)
    summary.outputs = [sink.finish() for sink in sinks]
    return summary
