"""`anonflow models train-demographics`: labelled people in, a fine-tuned, verified head-free model out.

Input is either a folder of anonymous crops with `labels.csv` (the audit-crop export plus labels) or a
folder of whole-person images in the PA-100K layout, which the edge's own pose and crop code cuts first.
People are split by person (each image is one person) into training people and held-out people (the
reported accuracy, never seen by training). Fine-tuning stops early on a validation part of the training
people; the shipped heads are then fitted on every training person, with each head's regularisation, its
calibration and the abstention thresholds read out of fold (`crossfit.py`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import onnx

from anonflow.contract.errors import AnonflowError, InputError
from anonflow.edge.demographics import Abstention
from anonflow.edge.modelfiles.derived import NOT_RECORDED, DataLicence, Sidecar, write_sidecar
from anonflow.edge.modelfiles.registry import model_dir as resolve_model_dir
from anonflow.edge.modelfiles.registry import resolve, sha256_of, spec
from anonflow.models.crops import HEADS, UNKNOWN, load_crops, read_labels
from anonflow.models.evaluate.attributes import attribute_agreement, predicted_classes
from anonflow.models.evaluate.demographics import AGE_COLUMNS, measure
from anonflow.models.headfree import cut_headfree, is_whole_person_folder
from anonflow.models.report import json_ready
from anonflow.models.train.abstention import choose_abstention
from anonflow.models.train.crossfit import cross_fit, cross_fit_kernel
from anonflow.models.train.finetune import FinetuneConfig, finetune
from anonflow.models.train.graph import PARENT_GENDER_FEATURE, backbone, extract_features, with_heads
from anonflow.models.train.heads import OUTPUT_LABELS, fit_heads, from_parent_gender, head_penalty
from anonflow.models.train.onnxjax import from_onnx, with_params

TRAINED_MODEL = "headfree-demographics"
GenderStart = Literal["parent", "fitted"]
GenderHead = Literal["kernel", "linear"]
MIN_CROPS = 8
# Each head's C is chosen from these out of fold (`crossfit.py`). On 1,200 PA-100K people and 3,073
# features gender and orientation take 0.001-0.003, the age head 0.0003.
REGULARISATION: Final = (0.0003, 0.001, 0.003)
PROBES = 4  # training crops whose training-time outputs the sidecar keeps, to check a deployed copy


def split(n: int, holdout: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, held-out rows) of a seeded shuffle; at least one held out when holdout > 0."""
    _check_holdout(holdout)
    order = np.random.default_rng(seed).permutation(n)
    held = max(1, round(holdout * n)) if holdout > 0 else 0
    return np.sort(order[held:]), np.sort(order[:held])


def held_out_people(people: list[str], holdout: float, seed: int) -> frozenset[str]:
    """The people (files of the labels CSV) held out of training: split before any crop is cut, so a
    person the edge cannot crop stays held out and is still counted when measuring through the chain."""
    return frozenset(people[i] for i in split(len(people), holdout, seed)[1])


def _check_holdout(holdout: float) -> None:
    if not 0.0 <= holdout <= 0.5:
        raise InputError(f"holdout must be in [0, 0.5], got {holdout}")


def train_demographics(
    crops: Path,
    labels: Path | None,
    model_dir: Path | None,
    *,
    output: Path | None = None,
    holdout: float = 0.25,
    seed: int = 0,
    regularisation: Sequence[float] = REGULARISATION,
    finetuning: FinetuneConfig | None = None,
    validation: float = 0.15,
    min_coverage: float = 0.76,
    age_min_coverage: float = 0.85,
    data_licence: DataLicence = NOT_RECORDED,
    gender_start: GenderStart = "fitted",
    gender_head: GenderHead = "kernel",
    progress: bool = False,
) -> dict[str, Any]:
    """Train, measure on the held-out crops, export ONNX with its sidecar; returns the report.

    regularisation: the C values (inverse L2 strength) each head chooses its own from, out of fold.
    gender_start: where the gender head starts fine-tuning, "parent" (the shipped network's own reading)
    or "fitted" (logistic regression on the frozen features, as the age and orientation heads do).
    gender_head: "kernel" (an RBF machine on the kept network's features is the gender head: `kernel.py`;
    1.3-2.6 points better than the linear head in cross-validation) or "linear".

    data_licence: the labelled data's licence, recorded in the sidecar (non-commercial unless stated):
    a model is bound by the licence of the data it learnt from.
    """
    _check_holdout(holdout)
    if not regularisation or not all(1e-6 <= c <= 1e6 for c in regularisation):
        raise InputError(f"regularisation values must be in [1e-6, 1e6], got {list(regularisation)}")
    for option, value in (("min-coverage", min_coverage), ("age-min-coverage", age_min_coverage)):
        if not 0.0 < value <= 1.0:
            raise InputError(f"{option} must be in (0, 1], got {value}")
    target_spec = spec(TRAINED_MODEL, "attributes")
    parent = spec(target_spec.derived_from, "attributes")
    directory = resolve_model_dir(model_dir)
    dropped: tuple[str, ...] = ()
    whole = None
    if is_whole_person_folder(crops):
        cut = cut_headfree(crops, directory, labels)
        data, dropped, whole = cut.crops, cut.dropped, cut.whole
    else:
        data = load_crops(crops, labels)
    if len(data) < MIN_CROPS:
        raise InputError(f"{len(data)} labelled crops are too few to train on; need at least {MIN_CROPS}")
    if not (data.labels != UNKNOWN).any():
        raise InputError("every label is unknown: nothing to learn")
    people = [name for name, _ in read_labels(labels if labels is not None else crops / "labels.csv")]
    held_people = held_out_people(people, holdout, seed)
    held_rows = np.flatnonzero([f in held_people for f in data.files])
    train_rows = np.flatnonzero([f not in held_people for f in data.files])
    if not 0.0 <= validation <= 0.5:
        raise InputError(f"validation must be in [0, 0.5], got {validation}")
    fit_part, val_part = (
        split(len(train_rows), validation, seed + 1)
        if validation > 0
        else (np.arange(len(train_rows)), np.zeros(0, np.intp))
    )
    fit_rows, val_rows = train_rows[fit_part], train_rows[val_part]
    config = finetuning if finetuning is not None else FinetuneConfig(seed=seed)

    started = time.perf_counter()
    features_model = backbone(resolve(parent, directory))
    # Every training person's crop and its mirror image (left and right carry no label): twice the
    # examples for the same people, and the edge reads both (attribute_flip_average).
    train_images = data.images[train_rows]
    n_train = len(train_rows)
    parent_all = extract_features(features_model, np.concatenate([train_images, train_images[:, :, ::-1]]))
    # Each head's regularisation, chosen out of fold on every training person (`crossfit.py`); on the
    # shipped backbone, these are also the shipped heads when fine-tuning keeps it (as on PA-100K).
    crossfitted = cross_fit(
        parent_all[:n_train], parent_all[n_train:], data.labels[train_rows], regularisation, seed=seed
    )
    chosen_c = crossfitted.regularisation
    # Fine-tuning starts from heads fitted on its own training people, and keeps their penalty.
    features = np.concatenate([parent_all[:n_train][fit_part], parent_all[n_train:][fit_part]])
    fit_labels = np.concatenate([data.labels[fit_rows]] * 2)
    start = fit_heads(features, fit_labels, chosen_c)
    if gender_start == "parent":
        start = from_parent_gender(start, PARENT_GENDER_FEATURE)
    tuned = finetune(
        from_onnx(features_model),
        start,
        images=data.images,
        labels=data.labels,
        train_rows=fit_rows,
        val_rows=val_rows,
        config=config,
        head_l2=head_penalty(features, fit_labels, chosen_c),
        progress=progress,
    )
    tuned_features = with_params(features_model, tuned.params)
    kept_all = parent_all  # the kept backbone's features of every training crop, then of their mirrors
    if tuned.best_epoch > 0:
        # A tuned backbone: the shipped heads are cross-fitted again on its features (the tuned heads
        # learnt from the fit people only, and their thresholds would rest on the validation people).
        kept_all = extract_features(tuned_features, np.concatenate([train_images, train_images[:, :, ::-1]]))
        crossfitted = cross_fit(
            kept_all[:n_train], kept_all[n_train:], data.labels[train_rows], regularisation, seed=seed
        )
    heads = crossfitted.heads
    # The thresholds are chosen on what the edge reads (each crop averaged with its mirror image,
    # attribute_flip_average) of people the heads never saw, never the held-out ones: every training
    # person's out-of-fold reading.
    read = crossfitted.out_of_fold.copy()
    kernel = None
    if gender_head == "kernel" and "gender" in heads.trained:
        # The RBF machine replaces the linear gender head (`kernel.py`), cross-fitted the same way.
        kernel, read[:, OUTPUT_LABELS.index("male")] = cross_fit_kernel(
            kept_all[:n_train], kept_all[n_train:], data.labels[train_rows, 0], seed=seed
        )
    trained_model = with_heads(tuned_features, heads, kernel)
    seconds = time.perf_counter() - started
    probabilities = _run(trained_model, data.images)
    chosen = train_rows
    abstention = choose_abstention(
        read[:, OUTPUT_LABELS.index("male")],
        data.labels[chosen, 0],
        read[:, [OUTPUT_LABELS.index(c) for c in AGE_COLUMNS]] if "age_group" in heads.trained else None,
        data.labels[chosen, 1],
        min_coverage,
        age_min_coverage=age_min_coverage,
    )

    def accuracy(rows: np.ndarray) -> dict[str, Any]:
        predicted = predicted_classes(OUTPUT_LABELS, probabilities[rows])
        return {h: a.as_dict() for h, a in attribute_agreement(data.labels[rows], predicted).items()}

    target = output if output is not None else directory / target_spec.file
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        onnx.save(trained_model, str(target))
    except PermissionError as error:
        raise AnonflowError(f"cannot write {target}: {error.strerror}; pass --output PATH") from None
    comparison = _compare(
        trained_model,
        resolve(parent, directory),
        parent_labels=parent.labels,
        data=data,
        whole=whole,
        rows=held_rows,
        abstention=abstention,
    )
    labelled = {head: int((data.labels[train_rows, h] != UNKNOWN).sum()) for h, head in enumerate(HEADS)}
    details: dict[str, Any] = {
        "crops": len(data),
        "uncroppable": len(dropped),
        "train_crops": len(fit_rows),
        "validation_crops": len(val_rows),
        "epochs": len(tuned.history) - 1,
        "best_epoch": tuned.best_epoch,
        "history": [list(h) for h in tuned.history],
        "temperatures": crossfitted.temperatures
        | ({"gender": kernel.temperature} if kernel is not None else {}),
        "finetuning_temperatures": tuned.temperatures,
        "abstention": {
            "gender_margin": abstention.gender_margin,
            "age_min_probability": abstention.age_min_probability,
        },
        "abstention_min_coverage": {"gender": min_coverage, "age_group": age_min_coverage},
        "data_licence": {"text": data_licence.text, "commercial_use": data_licence.commercial_use},
        "finetuning": {k: getattr(config, k) for k in config.__dataclass_fields__},
        "gender_start": gender_start,
        "gender_head": "kernel" if kernel is not None else "linear",
        "kernel_support_vectors": len(kernel.coef) if kernel is not None else 0,
        "training_seconds": round(tuned.seconds, 1),
        "heldout_crops": len(held_rows),
        "heldout_people": sorted(held_people),
        "train_labelled": labelled,
        "trained_heads": list(heads.trained),
        "regularisation": crossfitted.regularisation,
        "regularisation_grid": list(regularisation),
        "seed": seed,
        "labels": list(OUTPUT_LABELS),
        "heldout": accuracy(held_rows) if len(held_rows) else None,
        "heldout_demographics": comparison,
        "probe": {
            "files": [data.files[i] for i in train_rows[:PROBES]],
            "probabilities": probabilities[train_rows[:PROBES]].round(6).tolist(),
        },
    }
    details = json_ready(details)
    sidecar = Sidecar(
        name=target_spec.name,
        sha256=sha256_of(target),
        parent_name=parent.name,
        parent_sha256=parent.sha256,
        made_by="anonflow models train-demographics",
        details=details,
    )
    write_sidecar(target, sidecar)
    return json_ready(
        {
            "model": target_spec.name,
            "output": str(target),
            "sha256": sidecar.sha256,
            "seconds": round(seconds, 1),
            "train": accuracy(train_rows),
            **details,
        }
    )


def _run(
    model: onnx.ModelProto, images: np.ndarray, output: str | None = None, *, flip: bool = False
) -> np.ndarray:
    """float32 [N, 7]: the exported graph's outputs on uint8 crops [N, 160, 80, 3], as the edge runs it
    (flip: averaged with the outputs on the mirror images, as the chain reads by default)."""
    if flip:
        mirrored = np.ascontiguousarray(images[:, :, ::-1])
        return (_run(model, images, output) + _run(model, mirrored, output)) / 2
    import onnxruntime as ort

    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    tensor = np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32)
    outputs = [output] if output else None
    runs = [session.run(outputs, {name: tensor[i : i + 1]})[0] for i in range(len(images))]
    return np.concatenate(runs).reshape(len(images), -1)


def _compare(
    trained: onnx.ModelProto,
    parent_file: Path,
    *,
    parent_labels: tuple[str, ...],
    data: Any,
    whole: np.ndarray | None,
    rows: np.ndarray,
    abstention: Abstention,
) -> dict[str, Any]:
    """Held-out figures of the parent and the trained model, head-free and (when known) heads visible,
    each crop read with its mirror image as the chain does; the parent at the edge's default thresholds,
    the trained model at its own (chosen on validation)."""
    if not len(rows):
        return {}
    parent = onnx.load(str(parent_file))
    truth = data.labels[rows]
    own = {"gender_margin": abstention.gender_margin, "age_min_probability": abstention.age_min_probability}
    out = {
        "default head-free": measure(parent_labels, _run(parent, data.images[rows], "453", flip=True), truth),
        "trained head-free": measure(
            OUTPUT_LABELS, _run(trained, data.images[rows], flip=True), truth, **own
        ),
    }
    if whole is not None:
        out["default heads visible"] = measure(
            parent_labels, _run(parent, whole[rows], "453", flip=True), truth
        )
        out["trained heads visible"] = measure(
            OUTPUT_LABELS, _run(trained, whole[rows], flip=True), truth, **own
        )
    return out


def summary_rows(report: dict[str, Any]) -> list[tuple[str, ...]]:
    """Accuracy per head on the training and held-out crops (correct of labelled)."""

    def cell(result: dict[str, Any] | None, head: str) -> str:
        if not result or not result[head]["labelled"]:
            return "-"
        r = result[head]
        return f"{r['accuracy']:.3f} ({r['correct']}/{r['labelled']})"

    rows: list[tuple[str, ...]] = [("HEAD", "TRAINED", "TRAIN ACCURACY", "HELD-OUT ACCURACY")]
    for head in HEADS:
        trained = "yes" if head in report["trained_heads"] else "no (needs 2+ labelled classes)"
        rows.append((head, trained, cell(report["train"], head), cell(report["heldout"], head)))
    return rows
