"""MQTT ingest: a persistent MQTT 5 session on the shared health subscription, batch commits,
acknowledgement only after commit.

The paho network thread only queues messages; a worker thread takes them in batches (by size
or time), stores each batch in one transaction (`server.ingest_batch`) and then acknowledges
every message of it. Messages of a connection that has since dropped are not acknowledged
(their packet ids mean something else on the new connection); the broker redelivers them and
the unique (device, seq) makes that harmless. Runs inside the API process (a Service) or alone
(`run_ingest`, `digibank-server ingest`), several processes sharing the subscription.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from collections import Counter
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from agent.report import shared_subscription
from server.core.config import Settings
from server.core.db import make_engine, make_sessionmaker
from server.ingest_batch import BatchContext, BatchResult, Incoming, classify, store_batch
from server.mqtt_account import server_account
from server.rules import Thresholds
from server.timeutil import utcnow

log = logging.getLogger(__name__)

_RETRY_MAX_S = 10.0


class IngestService:
    """The health-report ingest: connects, reconnects by itself, stores in batches."""

    name = "ingest"

    def __init__(
        self, settings: Settings, factory: sessionmaker[Session], *, client_id: str | None = None
    ) -> None:
        self.settings = settings
        self.factory = factory
        self.client_id = client_id or settings.ingest_client_id
        self.ctx = BatchContext(Thresholds.from_settings(settings), settings.autoresolve_reports)
        self._queue: queue.SimpleQueue[Incoming] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._ack_lock = threading.Lock()
        self._generation = 0
        self._connected = False
        self._client: mqtt.Client | None = None
        self._worker: threading.Thread | None = None
        # Figures of this process only; the totals over all processes are in IngestCounter.
        self.stored = 0
        self.duplicates = 0
        self.drops: Counter[str] = Counter()
        self.errors = 0
        self.batches = 0
        self.last_commit_at: float | None = None
        self.lag_s: float | None = None
        self.last_error: str | None = None

    # --- Service ------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background and start the batch worker; never blocks on the broker."""
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        account = server_account(self.settings)
        if account is not None:
            client.username_pw_set(*account)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.reconnect_delay_set(1, 30)
        props = Properties(PacketTypes.CONNECT)
        # The broker keeps the session (and queues reports) this long while ingest is down.
        props.SessionExpiryInterval = self.settings.ingest_session_expiry_s
        # Unacknowledged messages the broker may have in flight to us: at least a few batches.
        props.ReceiveMaximum = self.settings.ingest_receive_maximum
        self._client = client
        self._worker = threading.Thread(target=self._work, name="ingest-worker", daemon=True)
        self._worker.start()
        client.connect_async(
            self.settings.mqtt_host,
            self.settings.mqtt_port,
            keepalive=30,
            clean_start=False,
            properties=props,
        )
        client.loop_start()
        log.info(
            "ingest %s: connecting to %s:%s",
            self.client_id,
            self.settings.mqtt_host,
            self.settings.mqtt_port,
        )

    def stop(self) -> None:
        """Disconnect (keeping the broker session) and stop; unacknowledged messages return."""
        self._stopping.set()
        if self._worker is not None:
            self._worker.join(timeout=30)
        if self._client is not None:
            with self._ack_lock:
                self._generation += 1  # nothing queued may be acknowledged any more
            self._client.disconnect()
            self._client.loop_stop()
        self._connected = False
        log.info("ingest %s stopped: %d stored this run", self.client_id, self.stored)

    def health(self) -> dict[str, Any]:
        """Connection state and this process's figures, for /healthz and /metrics."""
        return {
            "connected": self._connected,
            "client_id": self.client_id,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "dropped": dict(self.drops),
            "errors": self.errors,
            "batches": self.batches,
            "queued": self._queue.qsize(),
            "lag_s": self.lag_s,
            "last_error": self.last_error,
        }

    @property
    def connected(self) -> bool:
        """Whether the MQTT connection is up now."""
        return self._connected

    # --- paho callbacks (network thread) --------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any = None
    ) -> None:
        if reason.is_failure:
            self.last_error = f"broker refused connection: {reason}"
            log.warning("ingest %s: %s", self.client_id, self.last_error)
            return
        with self._ack_lock:
            self._generation += 1
        self._connected = True
        self.last_error = None
        topic = shared_subscription("health", self.settings.ingest_group)
        client.subscribe(topic, options=SubscribeOptions(qos=1))
        log.info("ingest %s connected (session present: %s)", self.client_id, flags.session_present)

    def _on_disconnect(
        self, _c: mqtt.Client, _u: Any, _flags: Any, reason: Any, _p: Any = None
    ) -> None:
        with self._ack_lock:
            self._generation += 1
        self._connected = False
        if not self._stopping.is_set():
            log.warning("ingest %s disconnected (%s); reconnecting", self.client_id, reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        incoming = Incoming(msg.topic, msg.payload, msg.mid, self._generation, time.monotonic())
        # Validate here, in the network thread: it then overlaps the worker's commits (the
        # database drivers release the GIL while they wait or work in C).
        try:
            incoming.checked = classify(incoming)
        except Exception:  # the loop's edge: a validator bug must not drop the connection
            log.exception("ingest: validating a message on %s failed", msg.topic)
            incoming.checked = "invalid"
        self._queue.put(incoming)

    # --- worker -----------------------------------------------------------------------------

    def _work(self) -> None:
        size = self.settings.ingest_batch_size
        wait = self.settings.ingest_batch_ms / 1000
        while not self._stopping.is_set():
            try:
                first = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            batch = [first]
            deadline = time.monotonic() + wait
            while len(batch) < size:
                remaining = deadline - time.monotonic()
                try:
                    batch.append(
                        self._queue.get(timeout=remaining)
                        if remaining > 0
                        else self._queue.get_nowait()
                    )
                except queue.Empty:
                    break
            self._handle(batch)

    def _handle(self, batch: list[Incoming]) -> None:
        """Store a batch (retrying while the database is unreachable), then acknowledge it."""
        delay = 0.5
        while True:
            try:
                result = store_batch(self.factory, batch, self.ctx)
                break
            except (OperationalError, InterfaceError) as exc:
                # The database is down or locked: keep the batch unacknowledged and retry.
                self.errors += 1
                self.last_error = f"database: {exc.orig}"
                log.warning("ingest: database unavailable, retrying in %.1fs: %s", delay, exc)
                if self._stopping.wait(delay):
                    return  # not acknowledged: the broker delivers these again
                delay = min(delay * 2, _RETRY_MAX_S)
            except Exception:  # the loop's edge: one bad batch must not stop ingest
                self.errors += 1
                log.exception("ingest: batch of %d failed; storing one by one", len(batch))
                isolated = self._one_by_one(batch)
                if isolated is not None:
                    result = isolated
                    break
                if self._stopping.wait(delay):
                    return
        self._ack(batch)
        self._account(result)

    def _one_by_one(self, batch: list[Incoming]) -> BatchResult | None:
        """Store each message alone, isolating and dropping a poisonous one (None: db down)."""
        total = BatchResult()
        for message in batch:
            try:
                part = store_batch(self.factory, [message], self.ctx)
            except (OperationalError, InterfaceError):
                return None
            except DBAPIError as exc:
                log.error("ingest: dropping report on %s: %s", message.topic, exc.orig)
                total.drops["store_error"] += 1
                continue
            total.stored += part.stored
            total.duplicates += part.duplicates
            total.drops.update(part.drops)
            if part.newest_measured and (
                total.newest_measured is None or part.newest_measured > total.newest_measured
            ):
                total.newest_measured = part.newest_measured
        return total

    def _ack(self, batch: list[Incoming]) -> None:
        client = self._client
        if client is None:
            return
        with self._ack_lock:
            for message in batch:
                if message.generation == self._generation:
                    client.ack(message.mid, 1)

    def _account(self, result: BatchResult) -> None:
        self.batches += 1
        self.stored += result.stored
        self.duplicates += result.duplicates
        self.drops.update(result.drops)
        self.last_commit_at = time.time()
        if result.newest_measured is not None:
            self.lag_s = max(0.0, (utcnow() - result.newest_measured).total_seconds())


def run_ingest(settings: Settings, *, client_id: str | None = None) -> None:
    """Run ingest alone until SIGINT or SIGTERM (`digibank-server ingest`)."""
    engine = make_engine(settings)
    service = IngestService(settings, make_sessionmaker(engine), client_id=client_id)
    done = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        log.info("ingest: signal %d, stopping", signum)
        done.set()

    previous = {s: signal.signal(s, _stop) for s in (signal.SIGINT, signal.SIGTERM)}
    service.start()
    try:
        while not done.wait(1.0):
            pass
    finally:
        service.stop()
        engine.dispose()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":  # `python -m server.ingest`: used by the fault tests and the bench
    from server.core.config import load_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run_ingest(load_settings())
