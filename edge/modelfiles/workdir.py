"""A writable model directory beside a read-only shipped one, holding the models made on this machine.

A gateway receives the manifest's release files read-only (the Greengrass component's artifacts, a
package, a mounted volume), but the int8 pose model that makes it fast by default cannot be shipped: it
is calibrated here, on this store's own frames, and its bytes differ every time it is made (see
edge.modelfiles.derived). `prepare` lays out the writable directory: every release file present in the
shipped directory is linked in (so the registry verifies exactly the shipped bytes), and the int8 pose
model is made once, from the shipped float file, with its sidecar naming how. Later starts find it
verified and reuse it; a file made from another parent version, or damaged, is made again.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from anonflow.contract.errors import AnonflowError, ModelFileError
from anonflow.edge.modelfiles.quantize import INT8_MODEL, make_int8
from anonflow.edge.modelfiles.registry import manifest, resolve, spec
from anonflow.edge.modelfiles.sidecar import sidecar_path

log = logging.getLogger(__name__)

CalibrationFrames = Callable[[], Sequence[npt.NDArray[np.uint8]]]
"""Called only when the int8 model has to be made: BGR uint8 [H, W, 3] frames of the store's cameras."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """What `prepare` did. directory: the writable model directory; int8: the int8 pose model is there and
    verified; made: it was made now (seconds it took), not found; reason: why there is none, if not."""

    directory: Path
    int8: bool
    made: bool
    seconds: float = 0.0
    reason: str | None = None


def link_release_files(shipped: Path, writable: Path) -> int:
    """Link every manifest release file (and converted-file sidecar) found in `shipped` into `writable`.

    Links already pointing at the same file are kept; others are replaced. Returns the files linked.
    """
    linked = 0
    for row in manifest():
        if row.derived_from:
            continue
        for name in (Path(row.file), sidecar_path(Path(row.file))):
            source = shipped / name
            if not source.is_file():
                continue
            target = writable / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink() and Path(os.readlink(target)) == source.resolve():
                linked += 1
                continue
            tmp = target.with_name(target.name + ".link")
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(source.resolve())
            os.replace(tmp, target)
            linked += 1
    return linked


def prepare(shipped: Path, writable: Path, frames: CalibrationFrames, *, made_by: str) -> Prepared:
    """Lay out `writable` from `shipped` and make the int8 pose model there unless a verified one is.

    Never raises for the int8 model: when it cannot be made (no frames, no space), the reason comes back
    and the gateway runs the float model. A shipped directory without the float model is a ModelFileError.
    """
    if writable.resolve() == shipped.resolve():
        raise ModelFileError(f"the writable model directory {writable} is the shipped one")
    try:
        writable.mkdir(parents=True, exist_ok=True)
        link_release_files(shipped, writable)
    except OSError as error:
        raise ModelFileError(f"cannot lay out the model directory {writable}: {error}") from None
    int8 = spec(INT8_MODEL, "pose")
    resolve(spec(int8.derived_from, "pose"), writable)  # the float parent must be there and intact
    try:
        resolve(int8, writable)
        return Prepared(writable, int8=True, made=False)
    except ModelFileError as why:
        if (writable / int8.file).exists():
            log.warning("%s; making it again", why, extra={"event": "int8_remade", "model": int8.name})
    started = time.perf_counter()
    try:
        images = list(frames())
        if not images:
            return Prepared(writable, int8=False, made=False, reason="no calibration frames")
        sidecar = make_int8(
            writable, images, made_by=made_by, details={"calibration_source": "this store's cameras"}
        )
    except (AnonflowError, OSError, RuntimeError, ValueError) as error:
        # ONNX Runtime's quantiser raises plain RuntimeError/ValueError; the float model still runs.
        return Prepared(writable, int8=False, made=False, reason=f"{type(error).__name__}: {error}")
    seconds = time.perf_counter() - started
    log.info(
        "made the int8 pose model %s from %d frames of this store's cameras in %.0f s",
        writable / int8.file,
        sidecar.details["calibration_frames"],
        seconds,
        extra={"event": "int8_made", "model": int8.name, "seconds": round(seconds, 1)},
    )
    return Prepared(writable, int8=True, made=True, seconds=seconds)
