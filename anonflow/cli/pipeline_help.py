"""`anonflow pipeline --help`: every option the job takes, grouped, generated from the real definitions.

The job's own options come from `JobConfig` (each field names its group), the runner options from Beam's
own option classes; nothing is restated here. Importing Beam takes seconds, so this runs only when help is
asked for, and a missing `dataflow` extra is one line saying how to install it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

# Beam's option classes a deployment of this job uses: any runner, the direct and portable (Flink) runners,
# Dataflow on Google Cloud, and S3 for tables on AWS. Other Beam options are passed through as well.
RUNNER_OPTION_CLASSES = (
    "StandardOptions",
    "DirectOptions",
    "PortableOptions",
    "FlinkRunnerOptions",
    "GoogleCloudOptions",
    "S3Options",
)
GROUP_TITLES: Mapping[str, str] = {
    "input": "input: where entries come from",
    "output": "output: where the tables go",
    "stores": "stores: time zones and camera links",
    "privacy": "privacy: what the tables may release",
    "streaming": "streaming: lateness and early results",
}


def job_help(command: argparse.ArgumentParser, aliases: Mapping[str, str]) -> str:
    """The help text of `command`: its usage and description, then the job's options by group (a field
    the command also takes under another spelling, e.g. --k-anonymity for k_anonymity, shows both), then
    Beam's runner options by class."""
    from apache_beam.options import pipeline_options

    from anonflow.dataflow.options import GROUPS, AnonflowOptions, JobConfig

    display = argparse.ArgumentParser(
        prog=command.prog,
        usage=command.format_usage().removeprefix("usage: ").rstrip(),
        description=command.description,
        add_help=False,
        epilog="Any other Beam pipeline option is passed to Beam unchanged.",
    )
    display.add_argument("-h", "--help", action="store_true", help="show this help message and exit")
    job = _actions(pipeline_options, AnonflowOptions)
    groups = {name: display.add_argument_group(GROUP_TITLES.get(name, name)) for name in GROUPS}
    for name, field in JobConfig.model_fields.items():
        extra = field.json_schema_extra
        group = extra.get("group") if isinstance(extra, dict) else None
        if group not in groups:
            raise AssertionError(f"JobConfig.{name} names no help group of {GROUPS}")
        action = job[name]
        if name in aliases:
            action.option_strings = [aliases[name], *action.option_strings]
        if field.default is not None and not field.is_required() and field.annotation is not bool:
            action.help = (
                f"{action.help} [default: {field.default}]"
                if "default" not in (action.help or "")
                else action.help
            )
        groups[str(group)]._group_actions.append(action)
    for class_name in RUNNER_OPTION_CLASSES:
        runner = display.add_argument_group(f"runner: Beam {class_name}")
        for action in _actions(pipeline_options, getattr(pipeline_options, class_name)).values():
            runner._group_actions.append(action)
    return display.format_help()


def _actions(pipeline_options: Any, options_class: Any) -> dict[str, argparse.Action]:
    parser = pipeline_options._BeamArgumentParser(add_help=False)
    options_class._add_argparse_args(parser)
    return {action.dest: action for action in parser._actions}


class JobHelpAction(argparse.Action):
    """-h/--help for `anonflow pipeline`: prints `job_help` and exits."""

    def __init__(
        self, option_strings: Sequence[str], dest: str, aliases: Mapping[str, str], **kwargs: Any
    ) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)
        self.aliases = aliases

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: Any, values: Any, option: str | None = None
    ) -> NoReturn:
        try:
            text = job_help(parser, self.aliases)
        except ImportError as error:
            print(
                f"anonflow pipeline: error: the Beam job needs the dataflow extra ({error.name} is missing): "
                "pip install 'anonflow[dataflow]'",
                file=sys.stderr,
            )
            parser.exit(2)
        sys.stdout.write(text)
        parser.exit(0)
