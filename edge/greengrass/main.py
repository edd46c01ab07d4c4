"""The Greengrass component's process: `python -m anonflow.edge.greengrass.main [--config FILE]`.

Settings come from FILE, else from the component configuration (see `settings`). Logs are JSON lines
on stderr, which the nucleus writes to the component's log file. SIGTERM (the nucleus stopping the
component) ends the run cleanly; unsent entries stay in the spool for the next start.

Configuration updates: the nucleus restarts a component only when its lifecycle changes, so the process
subscribes to its configuration over IPC. A valid new configuration stops the gateway (unsent entries stay
in the spool) and starts it again with the new settings; an invalid one is logged in one line and the
running settings stay.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, cast

from anonflow.contract.errors import AnonflowError

if TYPE_CHECKING:
    from anonflow.edge.runtime.gateway import Gateway


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="anonflow-greengrass", description=__doc__)
    parser.add_argument("--config", type=Path, help="gateway YAML (default: the component configuration)")
    args = parser.parse_args(argv)

    from anonflow.edge.greengrass.settings import gateway_settings
    from anonflow.edge.greengrass.store_secret import SecretClient, nucleus_secrets
    from anonflow.edge.greengrass.updates import ConfigurationWatch, UpdatesClient
    from anonflow.edge.runtime import logs
    from anonflow.edge.runtime.gateway import Gateway
    from anonflow.edge.runtime.transports.greengrass import connect_ipc

    try:
        # The nucleus's V2 IPC client reads and watches configuration as well as it publishes.
        ipc = None if args.config is not None else cast(UpdatesClient, connect_ipc())
        config = gateway_settings(args.config, ipc)
        logs.configure(config.log_level)
        watch = ConfigurationWatch(ipc, config) if ipc is not None else None
        # The store's appearance secret, when the settings name its ARN, comes from the nucleus.
        read_secret = nucleus_secrets(cast(SecretClient, ipc)) if ipc is not None else None
        while True:
            gateway = Gateway(config, read_secret=read_secret)
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, _stopper(gateway))
            if watch is not None:
                watch.attach(gateway)
            code = gateway.run()
            update = watch.take() if watch is not None else None
            if update is None:
                return code
            config = update
    except AnonflowError as error:
        # One line the operator finds in the component log; exit 2 marks the component as broken.
        print(f"anonflow greengrass component: error: {error}", file=sys.stderr)
        return 2


def _stopper(gateway: Gateway) -> Callable[[int, FrameType | None], None]:
    """A signal handler stopping this run's gateway (not a later one's)."""
    return lambda _signum, _frame: gateway.stop()


if __name__ == "__main__":
    sys.exit(main())
