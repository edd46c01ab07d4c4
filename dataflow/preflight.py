"""Before any work, the job checks what it needs and stops with one line, so a bad deployment fails fast
and is rolled back (the Flink operator restores the last stable spec; a scheduled batch task exits 2).

    python -m anonflow.dataflow.preflight <the job's own arguments>

Checked, in order: the options; the release (the DP budget, the cell-key secret: well-formed, and
present when `--require_cell_key_secret`); the stores file (readable, valid, naming what the DP release
needs); the input (files: at least one entry file; Kinesis: the stream exists and is active or
updating; Pub/Sub: not checked here); a differentially private release already in the output (kept
only under the same parameters); the tables and the dead letters locations (a probe object is
written and deleted; nothing is left behind). `run()` does the same before building the pipeline; this
entry point lets an init container or a task's first step do it alone.
"""

from __future__ import annotations

import secrets
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from apache_beam.io.aws.clients.s3.messages import S3ClientError
from apache_beam.io.filesystem import BeamIOError
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, S3Options

from anonflow.contract.errors import AnonflowError, InputError
from anonflow.contract.tables import ANALYST_TABLES
from anonflow.dataflow.dpbudget import DpBudget, budget_from_options
from anonflow.dataflow.options import JobConfig
from anonflow.dataflow.partitions import PublicVocabulary, public_vocabularies, vocabularies
from anonflow.dataflow.privacy import SECRET_ENV, PrivacyConfig, check_sidecar
from anonflow.dataflow.stores import StoresConfig, load_stores
from anonflow.dataflow.transforms.read import entry_files

PROBE_PREFIX = ".anonflow-preflight-"
KinesisStatus = Callable[[str, str | None, str | None], str]
"""(stream, region, endpoint URL) -> the stream's status; raises on an unreachable stream."""


@dataclass(frozen=True, slots=True)
class Ready:
    """What the checks found: the validated settings the job runs with.

    files: the entry files of a files input (empty for streams); stores: None without a stores file;
    budget: the DP budget (None: the k-anonymous release); publics: each store's public vocabulary.
    """

    config: JobConfig
    privacy: PrivacyConfig
    budget: DpBudget | None
    publics: dict[str, PublicVocabulary]
    stores: StoresConfig | None
    files: tuple[str, ...]
    region: str | None


def _kinesis_status(stream: str, region: str | None, endpoint_url: str | None) -> str:
    import boto3

    client = boto3.client("kinesis", region_name=region, endpoint_url=endpoint_url)
    summary = client.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]
    status: str = summary["StreamStatus"]
    return status


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _privacy(config: JobConfig) -> tuple[PrivacyConfig, DpBudget | None]:
    try:
        budget = budget_from_options(
            config.dp_epsilon, config.dp_table_split, config.dp_granularity_split, config.dp_max_cells
        )
        privacy = PrivacyConfig.from_environment(
            k=config.k_anonymity,
            dwell_min_support=max(config.dwell_min_support, config.k_anonymity),
            dp=budget,
            ship_secret=config.ship_cell_key,
        )
    except ValueError as error:
        raise InputError(_first_line(error)) from None
    if config.require_cell_key_secret and not privacy.secret_persistent:
        raise InputError(
            f"{SECRET_ENV} is not set: this deployment requires its cell-key secret "
            "(--require_cell_key_secret), or re-runs would publish differently perturbed tables"
        )
    return privacy, budget


def _input(config: JobConfig, region: str | None, kinesis_status: KinesisStatus) -> tuple[str, ...]:
    if config.source == "files":
        try:
            files = entry_files(config.input)
        except (OSError, BeamIOError) as error:
            raise InputError(f"input {config.input} cannot be listed: {_first_line(error)}") from None
        if not files:
            raise InputError(f"input {config.input} holds no entry files")
        return tuple(files)
    if config.source == "kinesis":
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            status = kinesis_status(config.stream, region, config.kinesis_endpoint_url)
        except (BotoCoreError, ClientError) as error:
            raise InputError(f"input {config.input} is not reachable: {_first_line(error)}") from None
        if status not in {"ACTIVE", "UPDATING"}:
            raise InputError(f"input {config.input} is {status}, not ACTIVE")
    return ()


def _writable(location: str, what: str) -> None:
    """Write and delete a probe object under `location`; a local directory made for it is removed again,
    so the check leaves nothing behind."""
    made: Path | None = None
    try:
        if "://" not in location:
            path = Path(location).absolute()
            missing = [p for p in (path, *path.parents) if not p.exists()]
            made = missing[-1] if missing else None
            path.mkdir(parents=True, exist_ok=True)
        probe = FileSystems.join(location.rstrip("/"), PROBE_PREFIX + secrets.token_hex(8))
        with FileSystems.create(probe) as handle:
            handle.write(b"anonflow preflight probe\n")  # S3 multipart uploads refuse an empty body
        FileSystems.delete([probe])
    except (OSError, BeamIOError, S3ClientError) as error:
        raise InputError(f"{what} {location} is not writable: {_first_line(error)}") from None
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)


def _earlier_release_kept(output: str, privacy: PrivacyConfig) -> None:
    """A differentially private release already in the output stays as released (its ledger), so the
    job may only go on with the same parameters: found here, the deployment rolls back before it runs."""
    for table in ANALYST_TABLES:
        try:
            check_sidecar(FileSystems.join(output.rstrip("/"), table.name), table, privacy)
        except ValueError as error:
            raise InputError(f"output {output}: {_first_line(error)}") from None


def preflight(options: PipelineOptions, kinesis_status: KinesisStatus = _kinesis_status) -> Ready:
    """Check everything the job needs before it starts; raises InputError (one line) on the first problem.

    kinesis_status: how a Kinesis stream's status is read (boto3 by default; the endpoint and region
    come from the options).
    """
    config = JobConfig.from_options(options)
    operators = config.operators_output  # an option problem too (a bucket root has no beside)
    FileSystems.set_options(options)  # S3 endpoint and keys, before any file is touched
    privacy, budget = _privacy(config)
    stores = load_stores(config.stores) if config.stores else None
    try:
        grid = config.heatmap_grid
        publics = vocabularies(stores, grid) if budget is not None else public_vocabularies(stores, grid)
    except ValueError as error:
        raise InputError(_first_line(error)) from None
    region = config.kinesis_region or options.view_as(S3Options).s3_region_name
    files = _input(config, region, kinesis_status)
    _earlier_release_kept(config.output, privacy)
    _writable(config.output, "output")
    _writable(operators, "dead-letter output")
    return Ready(
        config=config,
        privacy=privacy,
        budget=budget,
        publics=publics,
        stores=stores,
        files=files,
        region=region,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 with one line saying what was checked, or 2 with one line naming the problem."""
    try:
        ready = preflight(PipelineOptions(list(argv) if argv is not None else sys.argv[1:]))
    except AnonflowError as error:
        print(f"anonflow preflight: error: {error}", file=sys.stderr)
        return 2
    source = f"{len(ready.files)} entry files" if ready.files else ready.config.input
    print(
        f"anonflow preflight: ok: {source}; output {ready.config.output}; secret "
        f"{'set' if ready.privacy.secret_persistent else 'per run'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
