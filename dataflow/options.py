"""The job's own options, next to Beam's standard ones (--runner, --streaming, --temp_location, ...)."""

from __future__ import annotations

from apache_beam.options.pipeline_options import PipelineOptions


class AnonflowOptions(PipelineOptions):
    @classmethod
    def _add_argparse_args(cls, parser: object) -> None:
        add = parser.add_argument  # type: ignore[attr-defined]
        add(
            "--input",
            required=True,
            help="entries: a file, a glob, or a directory/prefix (local, s3://, gs://)",
        )
        add(
            "--output",
            required=True,
            help="where the tables go: a directory (local) or prefix (s3://, gs://)",
        )
        add(
            "--k_anonymity",
            type=int,
            default=3,
            help="rows backed by fewer distinct visitors than this are suppressed (default 3)",
        )
