"""`anonflow models ...`: list, verify, fetch, quantize, evaluate, train-demographics."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from anonflow.contract.errors import InputError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "models",
        help="list, verify, fetch, quantise, evaluate and train models",
        description="The model manifest and the model directory (--model-dir or ANONFLOW_MODEL_DIR).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="the manifest, with each file's state in the model directory")
    _model_dir_option(listing, required=False)
    listing.set_defaults(handler=run_list)

    verify = actions.add_parser(
        "verify",
        help="check model files against the manifest's sha256 (exit 1 if any is bad or a default is missing)",
    )
    _model_dir_option(verify)
    verify.add_argument("names", nargs="*", help="only these models (each must then be present)")
    verify.set_defaults(handler=run_verify)

    fetch = actions.add_parser(
        "fetch",
        help="download models from their upstream release, check each file's sha256, convert and prove them",
        description="Download the manifest's upstream release files (default host: the public Open Model Zoo "
        "storage), check each against its pinned sha256, convert the OpenVINO IR to ONNX and prove the "
        "result by its outputs on the manifest's fixed probe input; then write the model and its sidecar "
        "into the model directory (created if absent). Copyleft (AGPL) models only when named.",
    )
    fetch.add_argument(
        "--model-dir",
        type=Path,
        help="model directory to fill (default: $ANONFLOW_MODEL_DIR; created if absent)",
    )
    which = fetch.add_mutually_exclusive_group(required=True)
    which.add_argument("name", nargs="?", help="manifest name of the model")
    which.add_argument(
        "--all", action="store_true", help="every release model except copyleft ones (those only by name)"
    )
    fetch.add_argument(
        "--mirror",
        help="base URL standing in for the upstream host, same relative paths (default: "
        "$ANONFLOW_MODEL_MIRROR, else the public host); for a model without a conversion, a location "
        "holding a verified model directory",
    )
    fetch.add_argument("--timeout", type=float, default=30.0, help="network timeout in seconds (default 30)")
    fetch.set_defaults(handler=run_fetch)

    quantize = actions.add_parser(
        "quantize", help="int8 ONNX of the pose model by static quantisation, calibrated on video frames"
    )
    _model_dir_option(quantize)
    quantize.add_argument(
        "--video", action="append", type=Path, required=True, help="calibration video (repeat for several)"
    )
    quantize.add_argument("--frames", type=int, default=24, help="calibration frames in all (default 24)")
    quantize.add_argument(
        "--input-height", type=int, default=256, help="network input height the frames are resized to"
    )
    quantize.add_argument(
        "--format", choices=["qdq", "qoperator"], default="qdq", help="ONNX int8 representation (default qdq)"
    )
    quantize.add_argument(
        "--calibration",
        choices=["percentile", "minmax"],
        default="percentile",
        help="activation ranges from the 99.999th percentile (default) or from min/max",
    )
    quantize.add_argument(
        "--output", type=Path, help="where to write (default: the int8 manifest row's path in the model dir)"
    )
    quantize.set_defaults(handler=run_quantize)

    evaluate = actions.add_parser(
        "evaluate",
        help="key-point agreement of two pose models (PTK, EPE); people counts and attributes vs labels",
    )
    _model_dir_option(evaluate)
    evaluate.add_argument("--video", type=Path, help="video whose frames the pose models are compared on")
    evaluate.add_argument("--reference", default="openpose-lightweight", help="reference pose model")
    evaluate.add_argument("--candidate", help="candidate pose model (e.g. openpose-lightweight-int8)")
    evaluate.add_argument("--frames", type=int, default=50, help="frames read from the video (default 50)")
    evaluate.add_argument("--stride", type=int, default=1, help="use every k-th frame (default 1)")
    evaluate.add_argument("--input-height", type=int, default=None, help="pose network input height")
    evaluate.add_argument(
        "--tolerance",
        type=float,
        default=0.2,
        help="PTK tolerance as a fraction of torso height (default 0.2)",
    )
    evaluate.add_argument("--counts", type=Path, help="CSV frame,count of labelled people per frame")
    evaluate.add_argument("--crops", type=Path, help="folder of labelled anonymous crops (with labels.csv)")
    evaluate.add_argument("--attribute-model", default="person-attributes-0230", help="attribute model")
    evaluate.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads per model")
    evaluate.add_argument("--output", type=Path, help="write the result JSON here (default: stdout only)")
    evaluate.set_defaults(handler=run_evaluate)

    train = actions.add_parser(
        "train-demographics",
        help="fine-tune the head-free gender / age-group / orientation network on labelled people",
    )
    _model_dir_option(train)
    train.add_argument(
        "crops",
        type=Path,
        help="folder of anonymous crops (JPEG/PNG) or of whole-person images (images/ + labels.csv, "
        "the PA-100K layout: the edge's pose and crop code cuts the head-free crops)",
    )
    train.add_argument(
        "--labels", type=Path, help="CSV file,gender,age_group,orientation (default: CROPS/labels.csv)"
    )
    train.add_argument("--epochs", type=int, default=12, help="at most this many epochs (default 12)")
    train.add_argument("--batch", type=int, default=32, help="crops per training step (default 32)")
    train.add_argument(
        "--patience", type=int, default=2, help="stop after this many epochs without a better validation loss"
    )
    train.add_argument(
        "--learning-rate", type=float, default=3e-5, help="Adam step size of the backbone (default 3e-5)"
    )
    train.add_argument(
        "--head-learning-rate", type=float, default=3e-5, help="Adam step size of the heads (default 3e-5)"
    )
    train.add_argument(
        "--schedule",
        choices=("cosine", "constant"),
        default="constant",
        help="step sizes decay to zero over --epochs on a cosine, or stay constant (default constant)",
    )
    train.add_argument(
        "--anchor",
        type=float,
        default=1e-3,
        help="L2-SP strength pulling the backbone back to the parent's weights (default 1e-3)",
    )
    train.add_argument(
        "--gender-start",
        choices=("parent", "fitted"),
        default="fitted",
        help="start the gender head from a logistic regression on the parent's frozen features (which "
        "include the parent's own gender logit), or from exactly the parent's reading (default fitted)",
    )
    train.add_argument(
        "--gender-head",
        choices=("kernel", "linear"),
        default="kernel",
        help="kernel: after fine-tuning, the gender head is an RBF support-vector machine on the kept "
        "network's features, calibrated out of fold (default); linear: a logistic regression like the "
        "other heads",
    )
    train.add_argument(
        "--budget", type=float, default=900.0, help="stop training after this many seconds (default 900)"
    )
    train.add_argument(
        "--validation",
        type=float,
        default=0.15,
        help="fraction of training people that fine-tuning stops early on (and the kernel head calibrates "
        "on); the shipped linear heads are fitted, calibrated and thresholded on every training person",
    )
    train.add_argument("--holdout", type=float, default=0.25, help="fraction held out for accuracy")
    train.add_argument("--seed", type=int, default=0, help="seed of the hold-out split")
    train.add_argument(
        "--regularisation",
        type=_positive_numbers,
        default=(0.0003, 0.001, 0.003),
        help="inverse L2 strengths (C) each head chooses its own from, out of fold on the training people, "
        "comma-separated (default 0.0003,0.001,0.003; one value: every head takes it)",
    )
    train.add_argument(
        "--min-coverage",
        type=float,
        default=0.76,
        help="share of the training people (read out of fold) whose gender the chosen margin still names "
        "(default 0.76: people the edge cannot crop or track are not named either, so on PA-100K this names "
        "71-75 %% of everyone shown); the edge names a gender only beyond it",
    )
    train.add_argument(
        "--age-min-coverage",
        type=float,
        default=0.85,
        help="the same for the age group's floor (default 0.85: a track's averaged age reading falls under "
        "a floor more often than a single crop's, so on PA-100K this names 68-76 %% of everyone shown)",
    )
    train.add_argument(
        "--data-licence",
        default="not stated",
        help="the labelled data's licence, recorded in the model's sidecar (e.g. 'PA-100K: academic "
        "research only', or 'own audit crops, labelled by staff')",
    )
    train.add_argument(
        "--commercial-use",
        action="store_true",
        help="the data may serve a commercial deployment (the store's own crops); without it the model "
        "is recorded as non-commercial: for evaluation and research only",
    )
    train.add_argument("--json", action="store_true", help="print the whole report as JSON")
    train.add_argument(
        "--output", type=Path, help="where to write (default: the headfree-demographics row's path)"
    )
    train.set_defaults(handler=run_train)


def _positive_numbers(text: str) -> tuple[float, ...]:
    """ "0.001,0.003" -> (0.001, 0.003); argparse turns the error into one usage line."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not all(v > 0 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive numbers, got {text!r}")
    return values


def _model_dir_option(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument(
        "--model-dir",
        type=Path,
        help="model directory (default: $ANONFLOW_MODEL_DIR)" + ("" if required else "; optional here"),
    )


def run_list(args: argparse.Namespace) -> int:
    from anonflow.edge.modelfiles.registry import MODEL_DIR_ENV, manifest, model_dir
    from anonflow.models.inventory import State, check

    directory = None
    if args.model_dir is not None or MODEL_DIR_ENV in os.environ:
        directory = model_dir(args.model_dir)
    rows = [("NAME", "ROLE", "FAMILY", "LICENCE", "DEFAULT", "KIND", "IN MODEL DIR")]
    for spec in manifest():
        licence = f"{spec.licence} (copyleft)" if spec.copyleft else spec.licence
        kind = f"derived from {spec.derived_from}" if spec.derived_from else "release"
        status = check(spec, directory) if directory else None
        state = status.state.value if status else "-"
        if status and status.state is State.VERIFIED and status.data_licence:
            licence = status.data_licence.label
        rows.append((spec.name, spec.role, spec.family, licence, "yes" if spec.default else "", kind, state))
    _print_table(rows)
    if directory:
        print(f"\nmodel directory: {directory}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from anonflow.edge.modelfiles.registry import model_dir, spec
    from anonflow.models.inventory import State, inventory, unknown_files

    directory = model_dir(args.model_dir)
    names = tuple(spec(name).name for name in args.names)
    bad = 0
    for status in inventory(directory, names):
        if status.state is State.VERIFIED:
            print(f"ok       {status.spec.name}: {status.path}")
            if status.data_licence and not status.data_licence.commercial_use:
                print(
                    f"note: {status.spec.name} was trained on data it may not be used commercially with "
                    f"({status.data_licence.text}): for evaluation and research only; never a default",
                    file=sys.stderr,
                )
        elif status.state is State.MISSING and not status.required and not names:
            print(f"absent   {status.spec.name} (optional)")
        else:
            bad += 1
            print(f"{status.state.value.upper():8} {status.spec.name}: {status.problem}")
    for path in unknown_files(directory):
        print(f"unknown  {path} (no manifest row names it; not used)")
    if bad:
        print(f"{bad} model file(s) missing or bad in {directory}", file=sys.stderr)
        return 1
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    from anonflow.edge.modelfiles.registry import MODEL_DIR_ENV, spec
    from anonflow.models.fetch import fetch, fetchable_by_default

    raw = args.model_dir or os.environ.get(MODEL_DIR_ENV)
    if not raw:
        raise InputError(f"no model directory: pass --model-dir or set {MODEL_DIR_ENV}")
    directory = Path(raw).expanduser()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot create model directory {directory}: {error.strerror or error}") from None
    rows = fetchable_by_default() if args.all else (spec(args.name),)
    for row in rows:
        if row.copyleft:
            print(
                f"note: {row.name} is licensed {row.licence} (copyleft): a deployment running it must offer "
                "its source under that licence; it is never a default",
                file=sys.stderr,
            )
        done = fetch(row, directory, args.mirror, args.timeout)
        how = (
            "already present, verified"
            if done.already_present
            else f"converted and proved (outputs within {done.max_relative_diff:.1g} sd of the reference)"
            if done.max_relative_diff is not None
            else "downloaded, sha256 verified"
        )
        print(f"ok {row.name} ({row.licence}): {done.path} - {how}")
    return 0


def run_quantize(args: argparse.Namespace) -> int:
    from anonflow.models.quantize import quantize_pose

    report = quantize_pose(
        model_dir=args.model_dir,
        videos=tuple(args.video),
        frames=args.frames,
        input_height=args.input_height,
        fmt=args.format,
        output=args.output,
        calibration=args.calibration,
    )
    print(json.dumps(report, indent=2, sort_keys=True))
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from anonflow.models.evaluate.run import EvaluationRequest, evaluate, summary_rows

    if not (args.candidate or args.counts or args.crops):
        raise InputError("nothing to evaluate: give --candidate, --counts and/or --crops")
    result = evaluate(
        EvaluationRequest(
            model_dir=args.model_dir,
            video=args.video,
            reference=args.reference,
            candidate=args.candidate,
            frames=args.frames,
            stride=args.stride,
            input_height=args.input_height,
            tolerance=args.tolerance,
            counts=args.counts,
            crops=args.crops,
            attribute_model=args.attribute_model,
            threads=args.threads,
        )
    )
    _print_table(summary_rows(result))
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(f"\nwrote {args.output}")
    return 0


def run_train(args: argparse.Namespace) -> int:
    from anonflow.edge.modelfiles.derived import DataLicence
    from anonflow.models.report import table
    from anonflow.models.train.finetune import FinetuneConfig
    from anonflow.models.train.run import summary_rows, train_demographics

    report = train_demographics(
        crops=args.crops,
        labels=args.labels,
        model_dir=args.model_dir,
        output=args.output,
        holdout=args.holdout,
        seed=args.seed,
        regularisation=args.regularisation,
        finetuning=FinetuneConfig(
            epochs=args.epochs,
            patience=args.patience,
            batch=args.batch,
            learning_rate=args.learning_rate,
            head_learning_rate=args.head_learning_rate,
            cosine=args.schedule == "cosine",
            anchor=args.anchor,
            budget_seconds=args.budget,
            seed=args.seed,
        ),
        validation=args.validation,
        min_coverage=args.min_coverage,
        age_min_coverage=args.age_min_coverage,
        data_licence=DataLicence(args.data_licence, args.commercial_use),
        gender_start=args.gender_start,
        gender_head=args.gender_head,
        progress=not args.json,
    )
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
        return 0
    print(table(summary_rows(report)))
    print(f"\nwrote {report['output']} (sha256 {report['sha256'][:16]}..., sidecar {report['output']}.json)")
    return 0


def _print_table(rows: Sequence[tuple[str, ...]]) -> None:
    from anonflow.models.report import table

    print(table(rows))
