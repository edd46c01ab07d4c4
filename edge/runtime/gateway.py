"""The gateway process: N cameras, one chain each, one spool, one sender, one transport, health.

`Gateway` is the one entry point behind `anonflow edge`, the Greengrass component and the Lambda
handler. Each camera has a grabber thread (`CameraSource`) and an analysis thread (`CameraWorker`);
a camera that fails to open, drops its stream or raises in its chain is logged, counted and retried
while the others carry on. Entries are spooled (durably) before anything is sent.
"""

from __future__ import annotations

import collections
import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from anonflow.contract import Entry
from anonflow.contract.topics import entries_topic, health_topic
from anonflow.edge.runtime.backoff import Backoff
from anonflow.edge.runtime.batch import line_of
from anonflow.edge.runtime.camera import CameraSource, Opener, open_capture
from anonflow.edge.runtime.config import CameraConfig, GatewayConfig, SecretReader
from anonflow.edge.runtime.health import AnalysisStats, camera_health, health_message
from anonflow.edge.runtime.sender import Sender
from anonflow.edge.runtime.spool import Spool
from anonflow.edge.runtime.transports import Transport, TransportError, ack_timeout_s, open_transport

log = logging.getLogger(__name__)

_FPS_WINDOW_S = 10.0
_DRAIN_S = 5.0


class ChainOutput(Protocol):
    @property
    def entries(self) -> tuple[Entry, ...]: ...

    @property
    def face_dropped(self) -> int: ...


class FrameProcessor(Protocol):
    """What the gateway needs of a camera's chain (edge.chain.EdgeChain)."""

    def process(self, frame: npt.NDArray[np.uint8], event_time_ms: int) -> ChainOutput: ...


ChainFactory = Callable[[CameraConfig], FrameProcessor]


def model_chains(
    config: GatewayConfig, opener: Opener = open_capture, read_secret: SecretReader | None = None
) -> ChainFactory:
    """Build each camera's chain from the manifest's verified model files (after making the int8 pose
    model in `derived_model_dir` from the cameras' frames, the first time); the appearance secret comes
    from its file or, for `secret_arn`, from `read_secret`."""
    from anonflow.edge.chain import build_chain
    from anonflow.edge.modelfiles.registry import model_dir

    directory = model_dir(config.model_dir)
    if config.derived_model_dir is not None:
        directory = derived_models(config, directory, opener)
    secret = config.appearance.secret(read_secret)
    if secret is None:
        log.warning(
            "no appearance secret is set: appearance groups use a random key for this process, "
            "so the store's gateways do not group alike",
            extra={"event": "appearance_secret_missing"},
        )

    def build(camera: CameraConfig) -> FrameProcessor:
        return build_chain(
            camera.chain,
            store_id=config.store_id,
            camera_id=camera.id,
            model_dir=directory,
            threads=config.threads,
            appearance_secret=secret,
            time_zone=config.appearance.time_zone,
        )

    return build


def derived_models(config: GatewayConfig, shipped: Path, opener: Opener) -> Path:
    """The writable model directory, with the int8 pose model made there unless it already is."""
    from anonflow.edge.modelfiles.workdir import prepare
    from anonflow.edge.runtime.calibration import camera_frames

    assert config.derived_model_dir is not None
    prepared = prepare(
        shipped,
        config.derived_model_dir,
        lambda: camera_frames(config.cameras, opener),
        made_by=f"anonflow gateway {config.gateway_id} (first start)",
    )
    if not prepared.int8:
        log.warning(
            "could not make the int8 pose model in %s: %s; the float model runs (retried at next start)",
            prepared.directory,
            prepared.reason,
            extra={"event": "int8_not_made"},
        )
    return prepared.directory


class CameraWorker:
    """Takes a camera's newest frame, runs the chain, spools the entries; never lets one error stop it."""

    def __init__(
        self,
        camera_id: str,
        *,
        topic: str,
        source: CameraSource,
        chain: FrameProcessor,
        spool: Spool,
        sender: Sender,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.camera_id = camera_id
        self.topic = topic
        self.source = source
        self._chain = chain
        self._spool = spool
        self._sender = sender
        self._clock = clock
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._processed = 0
        self._entries = 0
        self._errors = 0
        self._face_dropped = 0
        self._lag_ms: float | None = None
        self._times: collections.deque[float] = collections.deque(maxlen=4096)
        self._thread = threading.Thread(target=self._run, name=f"analysis-{camera_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout_s: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def stats(self) -> AnalysisStats:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._times if now - t <= _FPS_WINDOW_S]
            return AnalysisStats(
                frames_processed=self._processed,
                entries=self._entries,
                processing_errors=self._errors,
                crops_face_dropped=self._face_dropped,
                fps=len(recent) / _FPS_WINDOW_S,
                lag_ms=self._lag_ms,
            )

    def _run(self) -> None:
        while not self._stop.is_set():
            frame = self.source.latest(0.5)
            if frame is None:
                if self.source.stats().finished:
                    return
                continue
            try:
                result = self._chain.process(frame.image, frame.capture_ms)
                lines = [(self.topic, line_of(entry.model_dump_json().encode())) for entry in result.entries]
                stored = self._spool.put(lines) if lines else 0
            except Exception:
                # The supervisor boundary: a chain bug or an unexpected frame must cost this frame
                # only, never the camera or its neighbours. Logged with its traceback and counted.
                with self._lock:
                    self._errors += 1
                    errors = self._errors
                if errors <= 3 or errors % 100 == 0:
                    log.exception(
                        "camera %s: frame analysis failed (%d so far)",
                        self.camera_id,
                        errors,
                        extra={"event": "analysis_failed", "camera_id": self.camera_id},
                    )
                continue
            if stored:
                self._sender.wake()
            with self._lock:
                self._processed += 1
                self._entries += stored
                self._face_dropped += result.face_dropped
                self._lag_ms = self._clock() * 1000 - frame.capture_ms
                self._times.append(time.monotonic())


class Gateway:
    """Wires the configured cameras, spool, sender, transport and health reporting; see `run`."""

    def __init__(
        self,
        config: GatewayConfig,
        *,
        chains: ChainFactory | None = None,
        transport: Transport | None = None,
        opener: Opener = open_capture,
        clock: Callable[[], float] = time.time,
        read_secret: SecretReader | None = None,
    ) -> None:
        self.config = config
        self._chains = chains
        self._read_secret = read_secret
        self._transport = transport
        self._opener = opener
        self._clock = clock
        self._stop = threading.Event()
        self._started_s = clock()
        self._workers: list[CameraWorker] = []
        self._spool: Spool | None = None
        self._sender: Sender | None = None
        self._health_thread: threading.Thread | None = None
        self._final_health: dict[str, Any] | None = None
        self._evicted_reported = 0
        self._started = threading.Event()
        self._closing = threading.Lock()
        self._closed = False
        self.health_topic = health_topic(config.store_id, config.gateway_id)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        """Open everything and start the threads; AnonflowError (one line) if a setting is unusable."""
        try:
            self._start()
        except BaseException:
            self.close()  # whatever did open (the spool, a transport) is closed again
            raise

    def _start(self) -> None:
        config = self.config
        self._spool = Spool(
            Path(config.spool.directory),
            max_bytes=config.spool.max_bytes,
            max_line_bytes=config.batch.max_payload_bytes,
        )
        if self._transport is None:
            self._transport = open_transport(
                config.transport, store_id=config.store_id, gateway_id=config.gateway_id
            )
        chains = self._chains or model_chains(config, self._opener, self._read_secret)
        # Every model loads (and is verified) before any camera runs.
        built = [(camera, chains(camera)) for camera in config.cameras]
        self._sender = Sender(
            self._spool,
            self._transport,
            max_payload_bytes=config.batch.max_payload_bytes,
            ack_timeout_s=ack_timeout_s(config.transport),
            backoff=Backoff(config.batch.retry_min_s, config.batch.retry_max_s),
            clock=self._clock,
        )
        for camera, chain in built:
            source = CameraSource(
                camera.id,
                camera.source,
                fps=camera.fps,
                loop=camera.loop,
                backoff=Backoff(camera.reconnect_min_s, camera.reconnect_max_s),
                opener=self._opener,
                clock=self._clock,
            )
            topic = entries_topic(config.store_id, camera.id)
            worker = CameraWorker(
                camera.id,
                topic=topic,
                source=source,
                chain=chain,
                spool=self._spool,
                sender=self._sender,
                clock=self._clock,
            )
            self._workers.append(worker)
        self._evicted_reported = self._spool.stats().evicted_entries
        self._sender.start()
        for worker in self._workers:
            worker.source.start()
            worker.start()
        self._health_thread = threading.Thread(target=self._report, name="health", daemon=True)
        self._health_thread.start()
        self._started.set()
        stats = self._spool.stats()
        log.info(
            "gateway %s of store %s started: %d camera(s), transport %s, %d entries waiting in the spool",
            config.gateway_id,
            config.store_id,
            len(self._workers),
            self._transport.kind,
            stats.depth,
            extra={"event": "gateway_started", "spool_depth": stats.depth},
        )

    def run(self) -> int:
        """Start, then serve until `stop()` or until every camera finished and everything was sent."""
        self.start()
        return self.serve()

    def serve(self) -> int:
        """Block until `stop()` or until every camera finished and all entries were delivered; close."""
        assert self._sender is not None, "start() first"
        while not self._stop.wait(0.5):
            if all(worker.done for worker in self._workers) and self._sender.wait_idle(0):
                log.info("all cameras finished and all entries delivered", extra={"event": "gateway_done"})
                break
        self.close()
        return 0

    def stop(self) -> None:
        self._stop.set()

    def wait_started(self, timeout_s: float) -> bool:
        """True once `start` has completed (health can be asked for)."""
        return self._started.wait(timeout_s)

    def close(self) -> None:
        """Stop the cameras, give the sender a moment to deliver, then close transport and spool (once)."""
        self._stop.set()
        with self._closing:
            if self._closed:
                return
            self._closed = True
            self._close()

    def _close(self) -> None:
        for worker in self._workers:
            worker.source.stop()
            worker.stop()
        for worker in self._workers:
            worker.source.join(5.0)
            worker.join(30.0)
        if self._sender is not None:
            # A last chance to deliver while the transport is up; during an outage the spool keeps all.
            if self._started.is_set() and self._transport is not None and self._transport.wait_ready(0):
                self._sender.wait_idle(_DRAIN_S)
            self._sender.stop()
            self._sender.join(35.0)
        if self._health_thread is not None:
            self._health_thread.join(5.0)
        if self._transport is not None:
            self._transport.close()
        if self._spool is not None:
            started = self._started.is_set()
            if started:
                self._final_health = self.health()
            depth = self._spool.stats().depth
            self._spool.close()
            self._spool = None
            if started:
                log.info(
                    "gateway stopped; %d entries stay spooled for the next start",
                    depth,
                    extra={"event": "gateway_stopped", "spool_depth": depth},
                )

    # -- health --------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """The current health message (after `close`, the last one taken)."""
        if self._final_health is not None:
            return self._final_health
        if not self._started.is_set():
            raise RuntimeError("the gateway has not started yet")
        assert self._spool is not None and self._sender is not None and self._transport is not None
        spool = self._spool.stats()
        return health_message(
            store_id=self.config.store_id,
            gateway_id=self.config.gateway_id,
            now_s=self._clock(),
            started_s=self._started_s,
            cameras=[camera_health(w.camera_id, w.source.stats(), w.stats()) for w in self._workers],
            spool=spool,
            evicted_since_last=spool.evicted_entries - self._evicted_reported,
            sender=self._sender.stats(),
            transport=self._transport.status(),
        )

    def _report(self) -> None:
        interval = self.config.health.interval_s
        while not self._stop.wait(interval):
            self.publish_health()

    def publish_health(self) -> dict[str, Any]:
        """Log the health message and send it on the health topic when the transport is up."""
        message = self.health()
        self._evicted_reported += message["evicted_entries"]
        log.info("health", extra={"event": "health", "health": message})
        assert self._transport is not None
        if self._transport.wait_ready(0):
            payload = json.dumps(message, separators=(",", ":")).encode() + b"\n"
            try:
                self._transport.publish(
                    self.health_topic, payload, min(ack_timeout_s(self.config.transport), 5.0)
                )
            except TransportError as error:
                log.debug("health message not sent: %s", error, extra={"event": "health_not_sent"})
        return message
