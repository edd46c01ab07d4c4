"""OpenPose's face points as head evidence: attached to the right person, near the neck, on real frames.

The store aisle's shoppers show faces and ears (frames 10 and 40); every face point the decoder attaches
must sit on that person's head: above the shoulder line's lower edge and within a torso length of the
neck. The body points are unchanged by it (the face parts are read after grouping).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from anonflow.contract.body import POINT_INDEX
from anonflow.edge.pose.model import PoseModel
from anonflow.edge.pose.types import HEAD_POINTS
from tests.edge.pose.conftest import FrameReader

FACE = [HEAD_POINTS.index(p) for p in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")]
NECK = HEAD_POINTS.index("neck")
HIPS = [POINT_INDEX["left_hip"], POINT_INDEX["right_hip"]]
THRESHOLD = 0.2


def test_face_points_sit_on_their_own_persons_head(
    release_pose_model: Callable[[str], PoseModel], video_frame: FrameReader
) -> None:
    model = release_pose_model("openpose")
    attached = 0
    for index in (10, 40):
        poses = model(video_frame("store-aisle-detection.gif", index))
        for person in range(len(poses)):
            seen = poses.head_confidence[person, FACE] >= THRESHOLD
            if not seen.any() or poses.head_confidence[person, NECK] < THRESHOLD:
                continue
            neck = poses.head[person, NECK]
            hips = poses.points[person, HIPS][poses.scores[person, HIPS] >= THRESHOLD]
            torso = float(np.hypot(*(hips.mean(axis=0) - neck))) if len(hips) else 60.0
            for point in poses.head[person, FACE][seen]:
                attached += 1
                assert point[1] < neck[1] + 0.1 * torso, (index, person, point, neck)
                assert float(np.hypot(*(point - neck))) < torso, (index, person, point, neck)
    assert attached >= 4  # measured: 11 face points over the two frames
