"""The startup check: every problem a deployment can have is one line and exit 2 before any work; a good
deployment passes. Local files and a moto server (S3 buckets, a Kinesis stream)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import boto3
import pytest

from anonflow.dataflow.pipeline import main as pipeline_main
from anonflow.dataflow.preflight import PROBE_PREFIX, main
from tests.dataflow.builders import PROCESSING_2024

REGION = "eu-central-1"
SECRET = "ab" * 32
GOOD_STORES = "stores:\n  - store_id: s1\n    time_zone: Europe/Berlin\n"


class World:
    """A deployment's surroundings: a local entries folder and stores file, an S3 bucket and a stream."""

    def __init__(self, root: Path, endpoint: str) -> None:
        self.root, self.endpoint = root, endpoint
        self.entries = root / "entries"
        self.entries.mkdir()
        (self.entries / "part-0.ndjson").write_text('{"not": "checked here"}\n')
        (root / "empty").mkdir()
        (root / "stores.yaml").write_text(GOOD_STORES)
        (root / "bad-stores.yaml").write_text("stores:\n  - store_id: s1\n    time_zone: Mars/Olympus\n")
        (root / "a-file").write_text("")
        # An output already holding a differentially private release (its sidecar), made with epsilon 1.
        released = root / "released" / "footfall"
        released.mkdir(parents=True)
        (released / "_privacy.json").write_text('{"differentially_private": true, "epsilon": 1.0}')
        tag = uuid.uuid4().hex[:8]
        self.bucket, self.stream = f"tables-{tag}", f"entries-{tag}"
        boto3.client("s3", endpoint_url=endpoint, region_name=REGION).create_bucket(
            Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        boto3.client("kinesis", endpoint_url=endpoint, region_name=REGION).create_stream(
            StreamName=self.stream, ShardCount=1
        )

    def s3(self) -> list[str]:
        return [
            f"--s3_endpoint_url={self.endpoint}",
            "--s3_access_key_id=testing",
            "--s3_secret_access_key=testing",
            f"--s3_region_name={REGION}",
        ]

    def files_job(self, *extra: str) -> list[str]:
        return [
            f"--input={self.entries}",
            f"--output={self.root / 'out' / 'tables'}",
            f"--stores={self.root / 'stores.yaml'}",
            PROCESSING_2024,
            *extra,
        ]

    def kinesis_job(self, stream: str, *extra: str) -> list[str]:
        return [
            f"--input=kinesis://{stream}",
            f"--kinesis_endpoint_url={self.endpoint}",
            f"--output=s3://{self.bucket}/tables",
            f"--dead_letter_output=s3://{self.bucket}/operators",
            *self.s3(),
            *extra,
        ]


Args = Callable[[World], list[str]]

# (case, job arguments, ANONFLOW_CELL_KEY_SECRET or None, the error's start ({root}: the world's folder)
# or None for a pass)
CASES: list[tuple[str, Args, str | None, str | None]] = [
    ("local files, good", lambda w: w.files_job(), None, None),
    ("kinesis in, S3 out, good", lambda w: w.kinesis_job(w.stream), None, None),
    (
        "secret required and given",
        lambda w: w.files_job("--require_cell_key_secret"),
        SECRET,
        None,
    ),
    ("an invalid option", lambda w: w.files_job("--k_anonymity=1"), None, "--k_anonymity: "),
    (
        "secret required, not given",
        lambda w: w.files_job("--require_cell_key_secret"),
        None,
        "ANONFLOW_CELL_KEY_SECRET is not set",
    ),
    ("a secret that is not hex", lambda w: w.files_job(), "not-hex", "ANONFLOW_CELL_KEY_SECRET must be hex"),
    # A replaced secret put in by hand (infra/README.md): refused at start, never used.
    (
        "a required secret too short",
        lambda w: w.files_job("--require_cell_key_secret"),
        "ab" * 15,
        "ANONFLOW_CELL_KEY_SECRET must hold 16 to 1024 bytes, got 15",
    ),
    (
        "a required secret of odd length",
        lambda w: w.files_job("--require_cell_key_secret"),
        SECRET[:-1],
        "ANONFLOW_CELL_KEY_SECRET must be hex",
    ),
    (
        "stores file missing",
        lambda w: [*w.files_job(), f"--stores={w.root / 'nope.yaml'}"],
        None,
        "stores file ",
    ),
    (
        "stores file invalid",
        lambda w: [*w.files_job(), f"--stores={w.root / 'bad-stores.yaml'}"],
        None,
        "stores file ",
    ),
    ("input missing", lambda w: [*w.files_job(), f"--input={w.root / 'nope'}"], None, "input "),
    ("input empty", lambda w: [*w.files_job(), f"--input={w.root / 'empty'}"], None, "input "),
    ("stream missing", lambda w: w.kinesis_job("no-such-stream"), None, "input kinesis://no-such-stream "),
    (
        "output under a file",
        lambda w: [*w.files_job(), f"--output={w.root / 'a-file' / 'tables'}"],
        None,
        "output ",
    ),
    (
        "dead letters under a file",
        lambda w: w.files_job(f"--dead_letter_output={w.root / 'a-file' / 'operators'}"),
        None,
        "dead-letter output ",
    ),
    (
        "a DP release in place, asked for another mode",
        lambda w: [*w.files_job(), f"--output={w.root / 'released'}"],
        None,
        "output {root}/released: {root}/released/footfall/_privacy.json describes a differentially private",
    ),
    (
        "output bucket missing",
        lambda w: [*w.kinesis_job(w.stream), "--output=s3://no-such-bucket-anonflow/tables"],
        None,
        "output s3://no-such-bucket-anonflow/tables is not writable",
    ),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, moto_endpoint: str) -> World:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
            patch.setenv(name, value)
        return World(tmp_path_factory.mktemp("preflight"), moto_endpoint)


@pytest.mark.parametrize(("case", "args", "secret", "error"), CASES, ids=[c[0] for c in CASES])
def test_preflight(
    world: World,
    aws_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    case: str,
    args: Args,
    secret: str | None,
    error: str | None,
) -> None:
    monkeypatch.delenv("ANONFLOW_CELL_KEY_SECRET", raising=False)
    if secret is not None:
        monkeypatch.setenv("ANONFLOW_CELL_KEY_SECRET", secret)
    code = main(args(world))
    out, err = capsys.readouterr()
    if error is None:
        assert (code, err) == (0, ""), err
        assert out.startswith("anonflow preflight: ok: ")
    else:
        assert code == 2 and out == ""
        assert err.startswith(f"anonflow preflight: error: {error.format(root=world.root)}"), err
        assert len(err.strip().splitlines()) == 1, err
    # The probes are cleaned up, and so are the folders made for them.
    assert not list(world.root.rglob(PROBE_PREFIX + "*"))
    assert not (world.root / "out").exists()


def test_the_job_itself_stops_before_any_work(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m anonflow.dataflow.pipeline` (what the deployments run) checks first: nothing is written."""
    out = world.root / "refused"
    monkeypatch.delenv("ANONFLOW_CELL_KEY_SECRET", raising=False)
    code = pipeline_main([*world.files_job("--require_cell_key_secret"), f"--output={out / 'tables'}"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("anonflow.dataflow.pipeline: error: ANONFLOW_CELL_KEY_SECRET")
    assert not out.exists()
