"""The independent face check: the last gate before a crop is classified or saved.

Head zones are placed from the pose network's output; this check does not trust them. It looks at the
crop's pixels with a separate detector, OpenCV's bundled Haar cascades (frontal, and profile both ways
round, BSD-licensed, shipped inside the opencv-python wheel), and a crop in which it finds a face is
dropped: never classified, never saved, only counted (health message `crops_face_dropped`, analyze
summary). Crops are small (160x80), so the check looks at them enlarged `upscale` times, where a face
a few pixels wide reaches the cascades' 20 px minimum.
"""

from __future__ import annotations

from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from anonflow.edge.config import FaceCheckConfig

_CASCADE_FILES: Final = ("haarcascade_frontalface_default.xml", "haarcascade_profileface.xml")
MIN_FACE_PX: Final = 20


class FaceCheck:
    """Callable: uint8 [M, H, W, 3] BGR crops -> bool [M], True where a face is found."""

    def __init__(self, config: FaceCheckConfig) -> None:
        directory = cv2.data.haarcascades  # type: ignore[attr-defined]  # (missing from OpenCV's stubs)
        self._cascades = [cv2.CascadeClassifier(directory + name) for name in _CASCADE_FILES]
        if any(c.empty() for c in self._cascades):
            raise RuntimeError(f"OpenCV's face cascades are missing from {directory}")
        self.config = config

    def __call__(self, crops: npt.NDArray[np.uint8]) -> npt.NDArray[np.bool_]:
        found = np.zeros(len(crops), bool)
        for row, crop in enumerate(crops):
            found[row] = self.has_face(crop)
        return found

    def has_face(self, crop: npt.NDArray[np.uint8]) -> bool:
        """True if any cascade finds a face in one BGR crop, either way round."""
        return bool(self.find(crop, first_only=True))

    def find(
        self, image: npt.NDArray[np.uint8], *, first_only: bool = False
    ) -> list[tuple[int, int, int, int]]:
        """Face rectangles (x0, y0, x1, y1) in `image` pixels from every cascade, either way round."""
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        up = self.config.upscale
        if up > 1:
            gray = cv2.resize(gray, None, fx=up, fy=up, interpolation=cv2.INTER_LINEAR)
        gray = cv2.equalizeHist(gray)
        width = gray.shape[1]
        frontal, profile = self._cascades
        found: list[tuple[int, int, int, int]] = []
        for cascade, flipped in ((frontal, False), (profile, False), (profile, True)):
            view = cv2.flip(gray, 1) if flipped else gray
            hits = cascade.detectMultiScale(
                view,
                scaleFactor=self.config.scale_step,
                minNeighbors=self.config.min_neighbors,
                minSize=(MIN_FACE_PX, MIN_FACE_PX),
            )
            for x, y, w, h in hits:
                left = width - x - w if flipped else x
                found.append((left // up, y // up, -(-(left + w) // up), -(-(y + h) // up)))
            if found and first_only:
                break
        return found
