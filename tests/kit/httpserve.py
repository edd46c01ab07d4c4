"""A static HTTP server on 127.0.0.1 standing in for a public download host (model storage, video host).

`truncate_after` makes it announce each file's full Content-Length but close the connection after that
many bytes: a download cut off mid-way, as a dropped connection would.
"""

from __future__ import annotations

import functools
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _Handler(SimpleHTTPRequestHandler):
    truncate_after: int | None = None

    def log_message(self, format: str, *args: object) -> None:
        pass

    def copyfile(self, source, outputfile) -> None:  # type: ignore[no-untyped-def]
        if self.truncate_after is None:
            super().copyfile(source, outputfile)
            return
        outputfile.write(source.read(self.truncate_after))
        self.close_connection = True


@contextmanager
def serving(directory: Path, truncate_after: int | None = None) -> Iterator[str]:
    """Serve `directory`; yields the base URL (http://127.0.0.1:PORT)."""
    handler_class = type("Handler", (_Handler,), {"truncate_after": truncate_after})
    handler = functools.partial(handler_class, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def refusing_url() -> str:
    """A URL on a 127.0.0.1 port nobody listens on (the socket that held it is closed): no network."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
