"""OpenPose decoding pieces on synthetic maps, the decoder on real network outputs, and the batched
decoding against the one-limb-at-a-time reference it replaced."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from anonflow.contract.errors import InputError
from anonflow.edge.pose.model import PoseModel
from anonflow.edge.pose.openpose import (
    BODY_FROM_OPENPOSE,
    BODY_LIMBS,
    HEAD_LIMB_STAGES,
    HEAD_PARTS,
    HEATMAP_OUTPUT,
    PAF_OUTPUT,
    SEARCHED_PARTS,
    OpenPoseContext,
    OpenPoseDecoder,
    Peaks,
    attach_head_parts,
    find_peaks,
    group_peaks,
    limb_scores,
    match_greedy,
)

FrameReader = Callable[[str, int], np.ndarray]
FACE_PARTS = (0, 14, 15, 16, 17)
# PAF channels (x and y) of the limbs that touch a face point: (1,0) (0,14) (14,16) (0,15) (15,17)
# (2,16) (5,17).
FACE_PAF_CHANNELS = (28, 29, 30, 31, 34, 35, 32, 33, 36, 37, 18, 19, 26, 27)


def _maps(points: list[tuple[int, int, int, float]], shape: tuple[int, int, int] = (3, 12, 16)) -> np.ndarray:
    """Heatmaps [K, H, W] with the given (channel, x, y, value) cells set."""
    maps = np.zeros(shape, np.float32)
    for channel, x, y, value in points:
        maps[channel, y, x] = value
    return maps


@pytest.mark.parametrize(
    ("maps", "parts", "expected"),
    [
        (_maps([(1, 5, 4, 0.8)]), (1,), [(1, 5.0, 4.0, 0.8)]),
        (_maps([(1, 5, 4, 0.05)]), (1,), []),  # below the threshold
        (_maps([(1, 0, 0, 0.6)]), (1,), [(1, 0.0, 0.0, 0.6)]),  # a corner: no refinement outside
        # a plateau of two equal cells: one peak, refined to its middle
        (_maps([(2, 3, 3, 0.5), (2, 4, 3, 0.5)]), (2,), [(2, 3.5, 3.0, 0.5)]),
        (_maps([(1, 2, 2, 0.4), (1, 10, 8, 0.9)]), (1,), [(1, 10.0, 8.0, 0.9), (1, 2.0, 2.0, 0.4)]),
        (_maps([(0, 5, 5, 0.9), (1, 7, 7, 0.7)]), (1,), [(1, 7.0, 7.0, 0.7)]),  # channel 0 not searched
        (_maps([(1, 5, 5, 0.9), (2, 5, 5, 0.7)]), (2, 1), [(1, 5.0, 5.0, 0.9), (2, 5.0, 5.0, 0.7)]),
    ],
    ids=["single", "below-threshold", "corner", "plateau", "two-by-score", "unsearched-channel", "by-part"],
)
def test_find_peaks(
    maps: np.ndarray, parts: tuple[int, ...], expected: list[tuple[int, float, float, float]]
) -> None:
    peaks = find_peaks(maps, parts, threshold=0.1)
    want = np.array(expected, np.float64).reshape(-1, 4)
    assert peaks.part.tolist() == want[:, 0].astype(int).tolist()
    np.testing.assert_allclose(peaks.xy, want[:, 1:3], atol=1e-6)
    np.testing.assert_allclose(peaks.score, want[:, 3], atol=1e-6)


def test_find_peaks_caps_each_part() -> None:
    maps = np.zeros((1, 20, 20), np.float32)
    maps[0, ::2, ::2] = np.linspace(0.2, 0.9, 100, dtype=np.float32).reshape(10, 10)
    peaks = find_peaks(maps, (0,), threshold=0.1, max_per_part=7)
    assert len(peaks.part) == 7
    assert np.all(np.diff(peaks.score) <= 0) and peaks.score[0] == pytest.approx(0.9)


def test_find_peaks_ignores_other_channels_entirely() -> None:
    maps = _maps([(1, 6, 6, 0.7)])
    maps[0] = np.nan  # a face channel full of garbage must not matter: it is never read
    peaks = find_peaks(maps, (1,), threshold=0.1)
    assert peaks.part.tolist() == [1] and np.all(np.isfinite(peaks.xy))


@pytest.mark.parametrize(("cx", "cy"), [(6.0, 5.0), (6.3, 5.0), (6.5, 4.6), (7.8, 6.2), (5.1, 5.45)])
def test_peak_refinement_is_sub_cell(cx: float, cy: float) -> None:
    # Training targets are Gaussians with sigma 7 input pixels = 0.875 cells at stride 8.
    y, x = np.mgrid[0:12, 0:16].astype(np.float32)
    maps = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 0.875**2))[None].astype(np.float32)
    peaks = find_peaks(maps, (0,), threshold=0.1)
    assert len(peaks.part) == 1
    assert np.hypot(*(peaks.xy[0] - (cx, cy))) < 0.1


def _paint(pafs: np.ndarray, channel: int, a: tuple[float, float], b: tuple[float, float]) -> None:
    """Unit vectors from a to b on the cells within one cell of the segment, like a trained field."""
    h, w = pafs.shape[1:]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    pa, pb = np.array(a, np.float32), np.array(b, np.float32)
    d = pb - pa
    length = float(np.linalg.norm(d))
    u = d / length
    rel_x, rel_y = x - pa[0], y - pa[1]
    along = rel_x * u[0] + rel_y * u[1]
    across = np.abs(rel_x * u[1] - rel_y * u[0])
    on = (along >= -1) & (along <= length + 1) & (across <= 1)
    pafs[channel][on] = u[0]
    pafs[channel + 1][on] = u[1]


def _field(segments: list[tuple[tuple[float, float], tuple[float, float]]]) -> tuple[np.ndarray, np.ndarray]:
    pafs = np.zeros((2, 16, 20), np.float32)
    for a, b in segments:
        _paint(pafs, 0, a, b)
    return pafs[0], pafs[1]


@pytest.mark.parametrize(
    ("segments", "a", "b", "valid"),
    [
        ([((2, 5), (12, 5))], (2, 5), (12, 5), True),
        ([((2, 5), (12, 5))], (2, 5), (12, 12), False),  # the field does not lead there
        ([((2, 5), (12, 5))], (12, 5), (2, 5), False),  # against the field's direction
        ([((2, 5), (7, 5))], (2, 5), (12, 5), False),  # field along only half the segment
        ([((3, 2), (9, 11))], (3, 2), (9, 11), True),  # diagonal, off-grid samples
        ([((2, 5), (12, 5))], (2, 5), (2, 5), False),  # zero length
    ],
    ids=["aligned", "off-field", "reversed", "half-covered", "diagonal", "zero-length"],
)
def test_limb_scores(
    segments: list[tuple[tuple[float, float], tuple[float, float]]],
    a: tuple[float, float],
    b: tuple[float, float],
    valid: bool,
) -> None:
    paf_x, paf_y = _field(segments)
    score, ok = limb_scores(np.array([a], np.float32), np.array([b], np.float32), paf_x, paf_y)
    assert score.shape == ok.shape == (1, 1)
    assert bool(ok[0, 0]) is valid
    if valid:
        assert score[0, 0] == pytest.approx(1.0, abs=0.05)


def test_limb_scores_pick_the_right_partner_among_many() -> None:
    paf_x, paf_y = _field([((2, 3), (10, 3)), ((2, 10), (10, 10))])
    a = np.array([[2, 3], [2, 10]], np.float32)
    b = np.array([[10, 10], [10, 3], [10, 6.5]], np.float32)
    _, ok = limb_scores(a, b, paf_x, paf_y)
    assert ok.tolist() == [[False, True, False], [True, False, False]]


def _reference_limb(a: np.ndarray, b: np.ndarray, paf_x: np.ndarray, paf_y: np.ndarray) -> tuple[float, bool]:
    """The line integral written out plainly: 10 bilinear samples, >= 9 aligned above 0.05."""

    def sample(field: np.ndarray, x: float, y: float) -> float:
        h, w = field.shape
        x, y = min(max(x, 0.0), w - 1.0), min(max(y, 0.0), h - 1.0)
        x0, y0 = min(int(np.floor(x)), w - 2), min(int(np.floor(y)), h - 2)
        fx, fy = x - x0, y - y0
        top = field[y0, x0] * (1 - fx) + field[y0, x0 + 1] * fx
        bottom = field[y0 + 1, x0] * (1 - fx) + field[y0 + 1, x0 + 1] * fx
        return float(top * (1 - fy) + bottom * fy)

    d = b - a
    length = float(np.hypot(*d))
    if length == 0:
        return 0.0, False
    u = d / length
    values = []
    for t in np.linspace(0, 1, 10):
        x, y = a + t * d
        values.append(sample(paf_x, x, y) * u[0] + sample(paf_y, x, y) * u[1])
    aligned = [v for v in values if v > 0.05]
    mean = sum(aligned) / max(len(aligned), 1)
    return mean, len(aligned) >= 9 and mean > 0


@pytest.mark.parametrize("seed", range(5))
def test_limb_scores_match_the_plain_integral(seed: int) -> None:
    """Probing two samples before the full integral skips only pairs that could not be valid."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0, 19, (8, 2)).astype(np.float32)
    b = rng.uniform(0, 15, (7, 2)).astype(np.float32)
    pafs = rng.normal(0, 0.05, (2, 16, 20)).astype(np.float32)
    for i, j in zip(range(5), rng.permutation(7)[:5], strict=False):
        if np.linalg.norm(b[j] - a[i]) > 1:
            _paint(pafs, 0, (float(a[i, 0]), float(a[i, 1])), (float(b[j, 0]), float(b[j, 1])))
    score, valid = limb_scores(a, b, pafs[0], pafs[1])
    expected = [[_reference_limb(a[i], b[j], pafs[0], pafs[1]) for j in range(7)] for i in range(8)]
    assert valid.tolist() == [[ok for _, ok in row] for row in expected]
    assert valid.sum() >= 2
    for i, j in zip(*np.nonzero(valid), strict=True):
        assert score[i, j] == pytest.approx(expected[i][j][0], abs=1e-5)


@pytest.mark.parametrize(
    ("score", "valid", "pairs"),
    [
        ([[0.9, 0.8], [0.85, 0.1]], [[1, 1], [1, 1]], [(0, 0), (1, 1)]),
        ([[0.9, 0.8], [0.85, 0.1]], [[1, 1], [1, 0]], [(0, 0)]),
        ([[0.5, 0.9, 0.2]], [[1, 1, 1]], [(0, 1)]),  # one row: its best column only
        ([[0.3], [0.6], [0.5]], [[1], [1], [1]], [(1, 0)]),
        ([[0.3, 0.4]], [[0, 0]], []),
        ([[0.2, 0.5, 0.5], [0.5, 0.5, 0.1]], [[1, 1, 1], [1, 1, 1]], [(0, 1), (1, 0)]),  # ties: row-major
    ],
    ids=["greedy", "invalid-skipped", "one-row", "one-column", "none-valid", "ties-row-major"],
)
def test_match_greedy(score: list[list[float]], valid: list[list[int]], pairs: list[tuple[int, int]]) -> None:
    rows, cols, s = match_greedy(np.array(score, np.float32), np.array(valid, bool))
    assert list(zip(rows.tolist(), cols.tolist(), strict=True)) == pairs
    assert s.tolist() == pytest.approx([score[r][c] for r, c in pairs])


# Two people on a 24 x 32 grid: OpenPose part -> (x, y) cell.
LEFT_PERSON = {
    1: (6, 4),
    2: (4, 5),
    5: (8, 5),
    3: (3, 9),
    6: (9, 9),
    8: (5, 12),
    11: (7, 12),
    9: (5, 17),
    12: (7, 17),
}
RIGHT_PERSON = {k: (x + 14, y + 2) for k, (x, y) in LEFT_PERSON.items()}


def _scene(people: list[dict[int, tuple[int, int]]]) -> tuple[Peaks, np.ndarray]:
    parts, xy = [], []
    for person in people:
        for part, cell in person.items():
            parts.append(part)
            xy.append(cell)
    order = np.argsort(parts, kind="stable")
    peaks = Peaks(
        np.array(parts, np.int64)[order],
        np.array(xy, np.float32)[order],
        np.full(len(parts), 0.8, np.float32),
    )
    pafs = np.zeros((38, 24, 32), np.float32)
    for person in people:
        for a, b, channel in BODY_LIMBS:
            if a in person and b in person:
                _paint(pafs, channel, person[a], person[b])
    return peaks, pafs


def _as_cells(people: np.ndarray, peaks: Peaks) -> list[dict[int, tuple[int, int]]]:
    return [
        {part: (int(peaks.xy[row, 0]), int(peaks.xy[row, 1])) for part, row in enumerate(person) if row >= 0}
        for person in people
    ]


def test_group_two_people() -> None:
    peaks, pafs = _scene([LEFT_PERSON, RIGHT_PERSON])
    people = group_peaks(peaks, pafs)
    assert sorted(map(sorted, (p.items() for p in _as_cells(people, peaks)))) == sorted(
        map(sorted, (LEFT_PERSON.items(), RIGHT_PERSON.items()))
    )


def test_group_drops_fragments_below_min_parts() -> None:
    fragment = {9: (20, 20), 12: (24, 20)}  # two knees with no limb between them
    peaks, pafs = _scene([LEFT_PERSON, fragment])
    people = group_peaks(peaks, pafs, min_parts=3)
    assert _as_cells(people, peaks) == [LEFT_PERSON]


def test_group_without_limbs_finds_nobody() -> None:
    peaks, _ = _scene([LEFT_PERSON])
    assert group_peaks(peaks, np.zeros((38, 24, 32), np.float32)).shape == (0, 18)


def test_decode_maps_cells_to_frame_pixels() -> None:
    _, pafs = _scene([LEFT_PERSON])
    heatmaps = np.zeros((19, 24, 32), np.float32)
    for part, (x, y) in LEFT_PERSON.items():
        heatmaps[part, y, x] = 0.8
    # A 512 x 384 frame at input height 192: scale 0.375, resized 192 x 144 in an input of 192 x 192.
    context = OpenPoseContext(frame_w=512, frame_h=384, resized_w=192, resized_h=144)
    poses = OpenPoseDecoder().decode({PAF_OUTPUT: pafs[None], HEATMAP_OUTPUT: heatmaps[None]}, context)
    assert len(poses) == 1
    for column, part in enumerate(BODY_FROM_OPENPOSE):
        if part in LEFT_PERSON:
            cell = np.array(LEFT_PERSON[part], np.float32)
            # cell centre in input pixels, then pixel centres scaled by 512/192 = 384/144
            expected = (cell * 8 + 3.5 + 0.5) * (512 / 192) - 0.5
            assert poses.points[0, column] == pytest.approx(expected, abs=1e-3)
            assert poses.scores[0, column] == pytest.approx(0.8)
        else:
            assert poses.scores[0, column] == 0.0


@pytest.mark.parametrize(
    ("frame_hw", "input_height", "tensor_hw", "resized_wh"),
    [
        ((432, 768), 256, (256, 456), (455, 256)),
        ((270, 480), 256, (256, 456), (455, 256)),
        ((1000, 500), 256, (256, 128), (128, 256)),
        ((360, 480), 368, (368, 496), (491, 368)),
        ((16, 1000), 256, (16, 1024), (1024, 16)),  # very wide: capped at 4 heights
        ((2, 2), 256, (256, 256), (256, 256)),
    ],
)
def test_prepare_shapes(
    frame_hw: tuple[int, int], input_height: int, tensor_hw: tuple[int, int], resized_wh: tuple[int, int]
) -> None:
    frame = np.zeros((*frame_hw, 3), np.uint8)
    frame[..., 0], frame[..., 1], frame[..., 2] = 10, 20, 30
    tensor, context = OpenPoseDecoder(input_height=input_height).prepare(frame)
    assert tensor.shape == (1, 3, *tensor_hw) and tensor.dtype == np.float32
    assert isinstance(context, OpenPoseContext)
    assert (context.resized_w, context.resized_h) == resized_wh
    # BGR kept, 0-255 kept, padding zero
    assert tensor[0, :, 0, 0].tolist() == [10, 20, 30]
    assert np.all(tensor[0, :, context.resized_h :, :] == 0) and np.all(
        tensor[0, :, :, context.resized_w :] == 0
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"input_height": 250},
        {"input_height": 32},
        {"peak_threshold": 0.0},
        {"peak_threshold": 1.5},
        {"min_parts": 1},
    ],
)
def test_bad_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(InputError, match="pose"):
        OpenPoseDecoder(**kwargs)  # type: ignore[arg-type]


GOOD = {
    PAF_OUTPUT: np.zeros((1, 38, 32, 57), np.float32),
    HEATMAP_OUTPUT: np.zeros((1, 19, 32, 57), np.float32),
}


@pytest.mark.parametrize(
    "outputs",
    [
        {PAF_OUTPUT: GOOD[PAF_OUTPUT]},
        {**GOOD, PAF_OUTPUT: np.zeros((1, 19, 32, 57), np.float32)},
        {**GOOD, HEATMAP_OUTPUT: np.zeros((1, 17, 32, 57), np.float32)},
        {**GOOD, HEATMAP_OUTPUT: np.zeros((1, 19, 16, 28), np.float32)},
        {**GOOD, HEATMAP_OUTPUT: np.zeros((19, 32, 57), np.float32)},
        {"heatmaps": GOOD[HEATMAP_OUTPUT], "pafs": GOOD[PAF_OUTPUT]},
    ],
    ids=["missing-output", "paf-channels", "heatmap-channels", "grid-mismatch", "rank", "other-names"],
)
def test_bad_layout_names_expected_layout(outputs: dict[str, np.ndarray]) -> None:
    context = OpenPoseContext(456, 256, 456, 256)
    with pytest.raises(InputError, match=r"expected layout: .*Mconv7_stage2_L1.*\[1,38,H/8,W/8\]"):
        OpenPoseDecoder().decode(outputs, context)


def test_good_layout_with_nothing_in_it() -> None:
    assert len(OpenPoseDecoder().decode(GOOD, OpenPoseContext(456, 256, 456, 256))) == 0


def test_face_outputs_never_change_who_is_found(
    release_pose_model: Callable[[str], PoseModel], video_frame: FrameReader
) -> None:
    """Garbage in every face heatmap and face-limb field changes no person and no body point: head parts
    are attached after people are grouped, only as head evidence."""
    model = release_pose_model("openpose")
    decoder = model.decoder
    frame = video_frame("store-aisle-detection.gif", 0)
    tensor, context = decoder.prepare(frame)
    names = [o.name for o in model.session.get_outputs()]
    outputs = dict(zip(names, model.session.run(names, {decoder.input_name: tensor}), strict=True))
    clean = decoder.decode(outputs, context)
    spoiled = {name: value.copy() for name, value in outputs.items()}
    spoiled[HEATMAP_OUTPUT][0, list(FACE_PARTS)] = np.nan
    spoiled[PAF_OUTPUT][0, list(FACE_PAF_CHANNELS)] = np.inf
    after = decoder.decode(spoiled, context)
    assert len(clean) == 2
    np.testing.assert_array_equal(clean.points, after.points)
    np.testing.assert_array_equal(clean.scores, after.scores)


# The decoder before its limb scoring and peak search were batched, kept as the reference the batched
# code must reproduce exactly: one limb type at a time, one bilinear lookup per field and sample set.


def _reference_find_peaks(
    heatmaps: np.ndarray, parts: tuple[int, ...], threshold: float, max_per_part: int = 64
) -> Peaks:
    maps = heatmaps[list(parts)]
    h, w = maps.shape[1:]
    padded = np.pad(maps, ((0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    peak = maps > threshold
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == 0 and dx == 0:
                continue
            neighbour = padded[:, 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
            peak &= (maps > neighbour) if (dy, dx) < (0, 0) else (maps >= neighbour)
    channel, y, x = np.nonzero(peak)
    score = maps[channel, y, x]
    part = np.asarray(parts, np.int64)[channel]
    order = np.lexsort((-score, part))
    channel, part, y, x, score = channel[order], part[order], y[order], x[order], score[order]
    if part.size:
        keep = (np.arange(part.size) - np.searchsorted(part, part, side="left")) < max_per_part
        channel, part, y, x, score = channel[keep], part[keep], y[keep], x[keep], score[keep]

    def offset(before: np.ndarray, centre: np.ndarray, after: np.ndarray) -> np.ndarray:
        inside = np.isfinite(before) & np.isfinite(after)
        b, a = np.where(inside, before, centre), np.where(inside, after, centre)
        curvature = b - 2 * centre + a
        with np.errstate(divide="ignore", invalid="ignore"):
            vertex = np.where(curvature < 0, 0.5 * (b - a) / curvature, 0.0)
        return np.clip(vertex, -0.5, 0.5).astype(np.float32)

    xy = np.stack(
        [
            x + offset(padded[channel, y + 1, x], score, padded[channel, y + 1, x + 2]),
            y + offset(padded[channel, y, x + 1], score, padded[channel, y + 2, x + 1]),
        ],
        axis=1,
    )
    return Peaks(part, xy.astype(np.float32), score.astype(np.float32))


def _reference_bilinear(field: np.ndarray, pts: np.ndarray) -> np.ndarray:
    h, w = field.shape
    x = np.clip(pts[..., 0], 0, w - 1)
    y = np.clip(pts[..., 1], 0, h - 1)
    x0 = np.minimum(np.floor(x).astype(np.intp), w - 2) if w > 1 else np.zeros(x.shape, np.intp)
    y0 = np.minimum(np.floor(y).astype(np.intp), h - 2) if h > 1 else np.zeros(y.shape, np.intp)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = x - x0, y - y0
    top = field[y0, x0] * (1 - fx) + field[y0, x1] * fx
    bottom = field[y1, x0] * (1 - fx) + field[y1, x1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


def _reference_alignment(
    start: np.ndarray, d: np.ndarray, t: np.ndarray, paf_x: np.ndarray, paf_y: np.ndarray
) -> np.ndarray:
    unit = d / np.maximum(np.linalg.norm(d, axis=-1, keepdims=True), 1e-6)
    pts = start[:, None, :] + t[None, :, None] * d[:, None, :]
    return _reference_bilinear(paf_x, pts) * unit[:, 0:1] + _reference_bilinear(paf_y, pts) * unit[:, 1:2]


def _reference_limb_scores(
    a: np.ndarray, b: np.ndarray, paf_x: np.ndarray, paf_y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    n, m, samples, min_alignment = len(a), len(b), 10, 0.05
    start = np.broadcast_to(a[:, None, :], (n, m, 2)).reshape(-1, 2)
    d = (b[None, :, :] - a[:, None, :]).reshape(-1, 2)
    length = np.linalg.norm(d, axis=-1)
    t = np.linspace(0.0, 1.0, samples, dtype=np.float32)
    need = int(np.floor(0.8 * samples)) + 1
    probes = np.unique(np.linspace(0, samples - 1, samples - need + 3)[1:-1].round().astype(np.intp))
    hopeful = np.flatnonzero(
        (length > 0) & (_reference_alignment(start, d, t[probes], paf_x, paf_y) > min_alignment).any(axis=1)
    )
    score, valid = np.zeros(n * m, np.float32), np.zeros(n * m, bool)
    if hopeful.size:
        alignment = _reference_alignment(start[hopeful], d[hopeful], t, paf_x, paf_y)
        aligned = alignment > min_alignment
        count = aligned.sum(axis=1)
        mean = np.where(aligned, alignment, 0).sum(axis=1) / np.maximum(count, 1)
        score[hopeful] = mean
        valid[hopeful] = (count >= need) & (mean > 0)
    return score.reshape(n, m), valid.reshape(n, m)


def _reference_match_greedy(
    score: np.ndarray, valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows, cols = np.nonzero(valid)
    order = np.argsort(-score[rows, cols], kind="stable")
    rows, cols = rows[order], cols[order]
    used_r, used_c = np.zeros(score.shape[0], bool), np.zeros(score.shape[1], bool)
    taken: list[int] = []
    for i, (r, c) in enumerate(zip(rows.tolist(), cols.tolist(), strict=True)):
        if used_r[r] or used_c[c]:
            continue
        used_r[r] = used_c[c] = True
        taken.append(i)
        if len(taken) == min(score.shape):
            break
    pick = np.asarray(taken, np.intp)
    return rows[pick], cols[pick], score[rows[pick], cols[pick]].astype(np.float32)


def _reference_group_peaks(peaks: Peaks, pafs: np.ndarray, min_parts: int = 3) -> np.ndarray:
    owner = np.full(len(peaks.part), -1, np.intp)
    members: list[np.ndarray] = []
    totals: list[float] = []
    alive: list[bool] = []
    for part_a, part_b, channel in BODY_LIMBS:
        ia, ib = np.flatnonzero(peaks.part == part_a), np.flatnonzero(peaks.part == part_b)
        if ia.size == 0 or ib.size == 0:
            continue
        score, valid = _reference_limb_scores(peaks.xy[ia], peaks.xy[ib], pafs[channel], pafs[channel + 1])
        rows, cols, limb = _reference_match_greedy(score, valid)
        for pa, pb, s in zip(ia[rows].tolist(), ib[cols].tolist(), limb.tolist(), strict=True):
            oa, ob = int(owner[pa]), int(owner[pb])
            if oa < 0 and ob < 0:
                person = np.full(18, -1, np.intp)
                person[[part_a, part_b]] = pa, pb
                owner[[pa, pb]] = len(members)
                members.append(person)
                totals.append(float(peaks.score[pa] + peaks.score[pb]) + s)
                alive.append(True)
            elif ob < 0:
                if members[oa][part_b] < 0:
                    members[oa][part_b], owner[pb] = pb, oa
                    totals[oa] += float(peaks.score[pb]) + s
            elif oa < 0:
                if members[ob][part_a] < 0:
                    members[ob][part_a], owner[pa] = pa, ob
                    totals[ob] += float(peaks.score[pa]) + s
            elif oa != ob and not np.any((members[oa] >= 0) & (members[ob] >= 0)):
                taken = members[ob] >= 0
                members[oa][taken] = members[ob][taken]
                owner[members[ob][taken]] = oa
                totals[oa] += totals[ob] + s
                alive[ob] = False
            elif oa == ob:
                totals[oa] += s
    kept = [i for i in range(len(members)) if alive[i] and int((members[i] >= 0).sum()) >= min_parts]
    kept.sort(key=lambda i: -totals[i])
    return np.stack([members[i] for i in kept]) if kept else np.zeros((0, 18), np.intp)


def _assert_same_as_reference(heatmaps: np.ndarray, pafs: np.ndarray, threshold: float) -> int:
    """Peaks, every limb's scores and matches, and the people: bit for bit. Returns the people found."""
    peaks = find_peaks(heatmaps, SEARCHED_PARTS, threshold)
    reference = _reference_find_peaks(heatmaps, SEARCHED_PARTS, threshold)
    for name in ("part", "xy", "score"):
        np.testing.assert_array_equal(getattr(peaks, name), getattr(reference, name), err_msg=name)
    for part_a, part_b, channel in BODY_LIMBS:
        a = peaks.xy[peaks.part == part_a]
        b = peaks.xy[peaks.part == part_b]
        score, valid = limb_scores(a, b, pafs[channel], pafs[channel + 1])
        expected_score, expected_valid = _reference_limb_scores(a, b, pafs[channel], pafs[channel + 1])
        np.testing.assert_array_equal(score, expected_score, err_msg=f"limb {part_a}-{part_b}")
        np.testing.assert_array_equal(valid, expected_valid, err_msg=f"limb {part_a}-{part_b}")
        for got, want in zip(match_greedy(score, valid), _reference_match_greedy(score, valid), strict=True):
            np.testing.assert_array_equal(got, want, err_msg=f"matching {part_a}-{part_b}")
    people = group_peaks(peaks, pafs)
    np.testing.assert_array_equal(people, _reference_group_peaks(peaks, pafs))
    # Rows in any order (not sorted by part) must group the same peaks.
    shuffle = np.random.default_rng(len(peaks.part)).permutation(len(peaks.part))
    shuffled = Peaks(peaks.part[shuffle], peaks.xy[shuffle], peaks.score[shuffle])
    np.testing.assert_array_equal(group_peaks(shuffled, pafs), _reference_group_peaks(shuffled, pafs))
    return len(people)


# Frames of all four sample videos, with one to eight people in view.
REAL_FRAMES = {
    "store-aisle-detection.gif": (0, 20, 60),
    "people-detection.gif": (0, 12, 22),
    "one-by-one-person-detection.mp4": (300, 400),
    "vtest-480x360.avi": (0, 40, 80),
}


@pytest.mark.parametrize("video", sorted(REAL_FRAMES))
def test_batched_decoding_matches_the_reference_on_real_frames(
    video: str, release_pose_model: Callable[[str], PoseModel], video_frame: FrameReader
) -> None:
    """The release model's outputs on real frames, at the default peak threshold and at a low one
    that yields three to four times the candidates."""
    model = release_pose_model("openpose")
    names = [o.name for o in model.session.get_outputs()]
    people = 0
    for index in REAL_FRAMES[video]:
        tensor, _ = model.decoder.prepare(video_frame(video, index))
        outputs = dict(zip(names, model.session.run(names, {model.decoder.input_name: tensor}), strict=True))
        for threshold in (0.1, 0.02):
            people += _assert_same_as_reference(outputs[HEATMAP_OUTPUT][0], outputs[PAF_OUTPUT][0], threshold)
    assert people >= 2 * len(REAL_FRAMES[video])


@pytest.mark.parametrize("seed", range(3))
def test_batched_decoding_matches_the_reference_in_a_crowd(seed: int) -> None:
    """Noisy maps with tens of candidates per part (the per-part cap reached), coarse levels so
    plateaus and tied scores occur, and fields painted between random pairs, so many limbs are valid
    and compete in the matching."""
    rng = np.random.default_rng(seed)
    heatmaps = (rng.integers(0, 6, (19, 40, 72)) / 5).astype(np.float32)
    pafs = rng.normal(0, 0.1, (38, 40, 72)).astype(np.float32)
    peaks = find_peaks(heatmaps, SEARCHED_PARTS, 0.3)
    for part_a, part_b, channel in BODY_LIMBS:
        a, b = peaks.xy[peaks.part == part_a], peaks.xy[peaks.part == part_b]
        for i, j in zip(rng.permutation(len(a))[:20], rng.permutation(len(b))[:20], strict=False):
            _paint(pafs, channel, (float(a[i, 0]), float(a[i, 1])), (float(b[j, 0]), float(b[j, 1])))
    assert np.bincount(peaks.part).max() == 64
    assert _assert_same_as_reference(heatmaps, pafs, 0.3) >= 5


# A head for LEFT_PERSON (neck at (6, 4), shoulders at (4, 5) and (8, 5)): nose above the neck, eyes and
# ears around it.
LEFT_HEAD = {0: (6, 2), 14: (5, 1), 15: (7, 1), 16: (4, 2), 17: (8, 2)}


def _head_scene(
    heads: list[dict[int, tuple[int, int]]], painted: bool = True
) -> tuple[np.ndarray, Peaks, Peaks, np.ndarray]:
    """Two people grouped from their body peaks, head peaks for `heads`, and (if `painted`) the head
    limbs' fields between each person's parts."""
    people_cells = [LEFT_PERSON, RIGHT_PERSON]
    body, pafs = _scene(people_cells)
    people = group_peaks(body, pafs)
    parts, xy = [], []
    for head in heads:
        for part, cell in sorted(head.items()):
            parts.append(part)
            xy.append(cell)
    order = np.argsort(parts, kind="stable")
    head_peaks = Peaks(
        np.array(parts, np.int64).reshape(-1)[order],
        np.array(xy, np.float32).reshape(-1, 2)[order],
        np.full(len(parts), 0.7, np.float32),
    )
    if painted:
        for person, head in zip(people_cells, heads, strict=False):
            whole = {**person, **head}
            for stage in HEAD_LIMB_STAGES:
                for a, b, channel in stage:
                    if a in whole and b in whole:
                        _paint(pafs, channel, whole[a], whole[b])
    return people, body, head_peaks, pafs


def _head_cells(attached: np.ndarray, head: Peaks) -> list[dict[int, tuple[int, ...]]]:
    """Per person, its attached head parts as cells."""
    return [
        {part: tuple(int(v) for v in head.xy[row]) for part, row in enumerate(rows) if row >= 0}
        for rows in attached
    ]


def test_each_person_gets_its_own_head_parts_along_their_fields() -> None:
    right_head = {k: (x + 14, y + 2) for k, (x, y) in LEFT_HEAD.items()}
    people, body, head, pafs = _head_scene([LEFT_HEAD, right_head])
    attached = attach_head_parts(people, body, head, pafs)
    necks = [tuple(int(v) for v in body.xy[row]) for row in people[:, 1]]
    by_neck = dict(zip(necks, _head_cells(attached, head), strict=True))
    assert by_neck == {LEFT_PERSON[1]: LEFT_HEAD, RIGHT_PERSON[1]: right_head}
    assert set(np.flatnonzero((attached >= 0).any(axis=0))) <= set(HEAD_PARTS)


def test_head_peaks_without_a_field_are_not_attached() -> None:
    """The positive control of the test above: the same peaks with no field between them stay unowned."""
    people, body, head, pafs = _head_scene([LEFT_HEAD], painted=False)
    assert (attach_head_parts(people, body, head, pafs) < 0).all()


def test_a_turned_away_head_keeps_its_ears_from_the_shoulders() -> None:
    """No nose or eye is seen (the face is turned away or bowed): the shoulder-ear fields still place
    the ears, the head evidence a back view has."""
    ears = {16: LEFT_HEAD[16], 17: LEFT_HEAD[17]}
    people, body, head, pafs = _head_scene([ears])
    attached = attach_head_parts(people, body, head, pafs)
    left = next(i for i, row in enumerate(people[:, 1]) if tuple(body.xy[row]) == LEFT_PERSON[1])
    assert _head_cells(attached, head)[left] == ears


def test_real_frontal_shoppers_get_nose_and_eyes_as_head_evidence(
    release_pose_model: Callable[[str], PoseModel], video_frame: FrameReader
) -> None:
    """On the aisle clip the network's face heatmaps place noses above the necks of the people found."""
    model = release_pose_model("openpose")
    noses = 0
    for index in range(0, 40, 4):
        poses = model(video_frame("store-aisle-detection.gif", index))
        nose, neck = poses.head_points[:, 0], poses.head_points[:, 5]
        seen = (poses.head_scores[:, 0] > 0) & (poses.head_scores[:, 5] > 0)
        noses += int(seen.sum())
        assert (nose[seen, 1] < neck[seen, 1]).all(), "a nose sits above its neck"
    assert noses > 0
