"""The body key points an entry may carry: COCO-17 without its five face points.

Face points (nose, eyes, ears) are biometric. They are dropped by every pose decoder and have no
name here, so no code path can carry them across the wire.
"""

from typing import Final

# Column order of every key-point array in the edge core and of the entry's `keypoints` object.
BODY_POINTS: Final[tuple[str, ...]] = (
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)

# Names that must never appear in anything that leaves the decoder.
FACE_POINTS: Final[tuple[str, ...]] = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")

POINT_INDEX: Final[dict[str, int]] = {name: i for i, name in enumerate(BODY_POINTS)}
