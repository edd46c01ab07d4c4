"""`anonflow models train-demographics`: the edge's crops of sample videos in, a model the edge runs out."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from anonflow.contract.entry import Gender, ResearchEntry
from anonflow.contract.errors import InputError
from anonflow.edge.attributes import load_attribute_model
from anonflow.edge.chain import build_chain
from anonflow.edge.config import CameraChainConfig
from anonflow.edge.demographics import Abstention, attribute_probabilities, demographics
from anonflow.edge.modelfiles.derived import DataLicence, data_licence, read_sidecar
from anonflow.edge.modelfiles.registry import spec
from anonflow.models.crops import HEADS, load_crops
from anonflow.models.evaluate.people import START_MS
from anonflow.models.frames import sample_frames
from anonflow.models.train.finetune import FinetuneConfig
from anonflow.models.train.heads import OUTPUT_LABELS, fit_heads, from_parent_gender, head_penalty
from anonflow.models.train.run import TRAINED_MODEL, split
from tests.kit.labelled_features import blobs

Cli = Callable[..., Any]  # the `cli` fixture: run(*argv) -> Run(code, out, err)
TRAINED = spec(TRAINED_MODEL)


def test_manifest_labels_are_the_trained_outputs() -> None:
    assert TRAINED.labels == OUTPUT_LABELS
    assert TRAINED.derived_from == "person-attributes-0230"
    # Bound by the licence of the data it learnt from, never the code's or the parent's.
    assert TRAINED.licence == "training data's (see sidecar)" and not TRAINED.default


@pytest.fixture
def few_crops(labelled_crops: Path, tmp_path: Path) -> Path:
    """A labels file naming 16 of the labelled crops: fine-tuning on them takes seconds."""
    lines = (labelled_crops / "labels.csv").read_text().splitlines()
    path = tmp_path / "few.csv"
    path.write_text("\n".join(lines[:17]) + "\n")
    return path


@pytest.mark.timeout(
    900
)  # a safety net, not a speed claim: JAX compiles the graph once (minutes on a loaded machine)
def test_trained_model_runs_in_the_edge_and_reproduces_training(
    cli: Cli, writable_models: Path, labelled_crops: Path, few_crops: Path, video_dir: Path
) -> None:
    run = cli(
        "train-demographics", labelled_crops, "--labels", few_crops, "--model-dir", writable_models,
        "--holdout", "0.25", "--epochs", "1", "--batch", "8", "--json",
    )  # fmt: skip

    assert run.code == 0, run.err
    report = json.loads(run.out)
    assert set(report["trained_heads"]) == {"gender", "orientation"}  # no age labels in this set
    assert report["heldout_crops"] == round(0.25 * report["crops"])
    assert report["epochs"] == 1 and set(report["temperatures"]) == {"gender", "age_group", "orientation"}
    assert "trained head-free" in report["heldout_demographics"]
    for head in ("gender", "orientation"):
        heldout = report["heldout"][head]
        assert heldout["labelled"] > 0 and 0.0 <= heldout["accuracy"] <= 1.0
    assert report["train"]["gender"]["accuracy"] > 0.8  # the teacher's labels are learnable on training crops

    # The edge loads it through the registry (sidecar checked) and reads the same numbers as training did.
    sidecar = read_sidecar(writable_models / TRAINED.file)
    model = load_attribute_model(TRAINED, writable_models)
    probe = sidecar.details["probe"]
    crops = load_crops(labelled_crops)
    rows = [crops.files.index(name) for name in probe["files"]]
    scores = model(crops.images[rows])
    assert scores.labels == OUTPUT_LABELS
    np.testing.assert_allclose(scores.probabilities, np.asarray(probe["probabilities"]), atol=1e-5)
    # The abstention thresholds chosen on the validation people travel in the sidecar to the edge.
    chosen = sidecar.details["abstention"]
    assert model.abstention == Abstention(chosen["gender_margin"], chosen["age_min_probability"])
    assert (
        report["heldout_demographics"]["trained head-free"]["all"]["gender"]["margin"]
        == (chosen["gender_margin"])
    )
    # Held out by person before cutting: recorded, so the chain can be measured on exactly these people.
    assert len(sidecar.details["heldout_people"]) == report["heldout_crops"]
    # No licence stated for the data: recorded as non-commercial, and said so wherever it is listed.
    assert data_licence(sidecar) == DataLicence("not stated", commercial_use=False)
    verify = cli("verify", "--model-dir", writable_models, TRAINED_MODEL)
    assert verify.code == 0 and "for evaluation and research only" in verify.err
    assert "training data: not stated (non-commercial)" in cli("list", "--model-dir", writable_models).out

    # And through the whole edge chain on a real video: a shopper's entries carry this model's readings.
    config = CameraChainConfig(attribute_model=TRAINED_MODEL, entry_detail="research")
    chain = build_chain(config, store_id="s", camera_id="c", model_dir=writable_models)
    frames = sample_frames(video_dir / "one-by-one-person-detection.mp4", 62, 2)[50:]  # a whole shopper
    entries = [
        entry
        for i, frame in enumerate(frames)
        for entry in chain.process(frame.image, START_MS + 200 * i).entries
    ]
    assert entries and all(e.producer.attribute_model == TRAINED_MODEL for e in entries)
    assert all(
        isinstance(e, ResearchEntry) and set(e.research.attributes) == set(OUTPUT_LABELS) for e in entries
    )

    # Untrained age head: uniform, which the edge must not turn into a confident age group.
    assert np.allclose(scores.probabilities[:, 1:4], 1 / 3, atol=1e-6)
    reading = demographics(scores.labels, scores.probabilities[0])
    assert reading.gender in (Gender.MALE, Gender.FEMALE, Gender.UNKNOWN)
    assert set(attribute_probabilities(scores.labels, scores.probabilities[0])) == set(OUTPUT_LABELS)


def test_evaluate_reads_orientation_from_the_trained_model(
    cli: Cli, writable_models: Path, labelled_crops: Path, tmp_path: Path
) -> None:
    assert (
        cli(
            "train-demographics",
            labelled_crops,
            "--model-dir",
            writable_models,
            "--holdout",
            "0",
            "--epochs",
            "1",
            "--gender-head",
            "kernel",  # the non-linear gender head's path through the command and the edge
        ).code
        == 0
    )
    assert read_sidecar(writable_models / TRAINED.file).details["gender_head"] == "kernel"
    out = tmp_path / "eval.json"

    run = cli(
        "evaluate", "--model-dir", writable_models, "--crops", labelled_crops,
        "--attribute-model", TRAINED.name, "--output", out,
    )  # fmt: skip

    assert run.code == 0, run.err
    heads = json.loads(out.read_text())["attributes"]["heads"]
    assert heads["orientation"]["predicted"] == heads["orientation"]["labelled"] > 0
    assert heads["orientation"]["accuracy"] > 0.8  # trained on every crop here (no hold-out)


def _blobs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    return blobs(n, seed)


def test_fit_heads_learns_every_head_and_its_probabilities_are_distributions() -> None:
    features, labels = _blobs(400, seed=1)
    heads = fit_heads(features[:300], labels[:300], regularisation=1.0)
    probabilities = heads(features[300:])

    assert heads.trained == tuple(HEADS)
    np.testing.assert_allclose(probabilities[:, 1:4].sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(probabilities[:, 4:7].sum(axis=1), 1.0, rtol=1e-5)
    truth = labels[300:]
    assert ((probabilities[:, 0] > 0.5) == (truth[:, 0] == 1)).mean() > 0.9
    assert (probabilities[:, 1:4].argmax(axis=1) == truth[:, 1]).mean() > 0.8
    assert (probabilities[:, 4:7].argmax(axis=1) == truth[:, 2]).mean() > 0.8


def test_gender_can_start_from_the_parents_own_reading() -> None:
    features, labels = _blobs(200, seed=3)
    heads = fit_heads(features, labels, regularisation=1.0)

    parent = from_parent_gender(heads, feature=5)

    np.testing.assert_allclose(parent(features)[:, 0], 1 / (1 + np.exp(-features[:, 5])), rtol=1e-6)
    np.testing.assert_array_equal(parent(features)[:, 1:], heads(features)[:, 1:])  # other heads untouched
    labels[:, 0] = -1  # no gender labels: the head stays untrained, not the parent's
    untrained = fit_heads(features, labels, regularisation=1.0)
    assert from_parent_gender(untrained, feature=5) is untrained


def test_head_penalty_is_the_regressions_own_in_folded_units() -> None:
    features, labels = _blobs(100, seed=4)
    labels[:50, 1] = -1  # half the age labels unknown: that head's penalty is twice as strong per row
    features[:, 3] *= 10.0

    penalty = head_penalty(features, labels, regularisation=0.5)

    scale = features.std(axis=0)
    np.testing.assert_allclose(penalty[:, 0], scale**2 / (2 * 0.5 * 100), rtol=1e-5)
    np.testing.assert_allclose(penalty[:, 1], scale**2 / (2 * 0.5 * 50), rtol=1e-5)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({}, None),
        ({"head_learning_rate": 1e-3, "cosine": True, "anchor": 0.0}, None),
        ({"head_learning_rate": 0.0}, "head_learning_rate"),
        ({"learning_rate": 1.0, "patience": 0}, "learning_rate, patience"),
    ],
)
def test_finetune_config_bounds(changes: dict[str, Any], error: str | None) -> None:
    if error is None:
        assert FinetuneConfig(**changes).epochs >= 1
    else:
        with pytest.raises(InputError, match=f"out of range: {error}"):
            FinetuneConfig(**changes)


@pytest.mark.parametrize(
    ("present", "trained", "never"),
    [
        ((0, 1, 2), True, ()),
        ((0, 1), True, (2,)),  # two labelled groups: the third is never chosen
        ((2,), False, ()),  # one class is no contrast: the head stays uniform
        ((), False, ()),
    ],
    ids=["all", "two", "one", "none"],
)
def test_age_head_with_partial_labels(
    present: tuple[int, ...], trained: bool, never: tuple[int, ...]
) -> None:
    features, labels = _blobs(200, seed=2)
    mask = np.isin(labels[:, 1], present)
    labels[~mask, 1] = -1

    heads = fit_heads(features, labels, regularisation=1.0)
    ages = heads(features)[:, 1:4]

    assert ("age_group" in heads.trained) == trained
    if not trained:
        np.testing.assert_allclose(ages, 1 / 3, atol=1e-6)
    for group in never:
        assert ages[:, group].max() < 1e-6


@pytest.mark.parametrize(
    ("n", "holdout", "sizes"),
    [(100, 0.25, (75, 25)), (10, 0.01, (9, 1)), (10, 0.0, (10, 0))],
)
def test_split_is_seeded_and_disjoint(n: int, holdout: float, sizes: tuple[int, int]) -> None:
    train, held = split(n, holdout, seed=3)
    again = split(n, holdout, seed=3)

    assert (len(train), len(held)) == sizes
    assert not set(train) & set(held) and len(set(train) | set(held)) == n
    assert train.tolist() == again[0].tolist()


@pytest.mark.parametrize(
    ("csv", "args", "expected"),
    [
        ("file,gender,age_group,orientation\n", [], "has no rows"),
        ("file,sex\nx.png,male\n", [], "must have the columns file,gender,age_group,orientation"),
        (
            "file,gender,age_group,orientation\nx.png,woman,,\n",
            [],
            "labels.csv:2: gender 'woman' is not one of",
        ),
        (
            "file,gender,age_group,orientation\nmissing.png,male,,\n",
            [],
            "missing.png is missing or not a readable",
        ),
        ("file,gender,age_group,orientation\n{first},male,,\n", [], "1 labelled crops are too few"),
        ("file,gender,age_group,orientation\n{first},male,,\n", ["--holdout", "0.9"], "holdout must be in"),
        (
            "file,gender,age_group,orientation\n{first},male,,\n",
            ["--age-min-coverage", "1.5"],
            "age-min-coverage must be in (0, 1], got 1.5",
        ),
        (
            "file,gender,age_group,orientation\n{first},male,,\n",
            ["--regularisation", "0.001,2e6"],
            "regularisation values must be in [1e-6, 1e6], got [0.001, 2000000.0]",
        ),
    ],
    ids=[
        "empty",
        "header",
        "bad-value",
        "missing-crop",
        "too-few",
        "bad-holdout",
        "bad-age-coverage",
        "bad-c",
    ],
)
def test_train_bad_input_is_one_line(
    cli: Cli,
    writable_models: Path,
    labelled_crops: Path,
    tmp_path: Path,
    csv: str,
    args: list[str],
    expected: str,
) -> None:
    first = sorted(labelled_crops.glob("*.png"))[0]
    (tmp_path / first.name).write_bytes(first.read_bytes())
    (tmp_path / "labels.csv").write_text(csv.format(first=first.name))

    run = cli("train-demographics", tmp_path, "--model-dir", writable_models, *args)

    assert run.code == 2
    assert expected in run.err and len(run.err.strip().splitlines()) == 1
    assert not (writable_models / TRAINED.file).exists()
