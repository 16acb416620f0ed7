"""MQTT ingest: a persistent MQTT 5 session on the shared health subscription, batch commits,
acknowledgement only after commit.

Two threads: this one runs paho's network loop, validates each message as it arrives,
hands each full batch (or one whose time is up) to the writer thread
(`server.ingest_writer`), which stores it in one transaction (`server.ingest_batch`), and
acknowledges every message of a batch once the writer has committed it. The broker keeps
sending meanwhile (the Receive Maximum allows several batches in flight), so reading the
next batch overlaps storing this one.

Messages of a connection that has since dropped are not acknowledged (their packet ids mean
something else on the new connection); the broker redelivers them and the unique (device,
seq) makes that harmless. Runs inside the API process (a Service) or alone (`run_ingest`,
`digibank-server ingest`), several processes sharing the subscription, each with its own
client id.
"""

from __future__ import annotations

import gc
import logging
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
from sqlalchemy.orm import Session, sessionmaker

from agent.report import shared_subscription
from server.core.config import Settings
from server.core.db import make_engine, make_sessionmaker
from server.ingest_batch import BatchContext, BatchResult, Incoming, store_batch
from server.ingest_classify import classify
from server.ingest_client import IngestClient
from server.ingest_writer import BatchWriter
from server.mqtt_account import server_account
from server.rules import Thresholds
from server.timeutil import utcnow
from server.wal_checkpoint import WalCheckpointer

log = logging.getLogger(__name__)

# Few ingest clients, so come back fast: after a broker restart, reports that arrive before
# ingest has subscribed again are acknowledged to the agent but delivered to nobody.
_RECONNECT_MAX_S = 5.0


class IngestService:
    """The health-report ingest: connects, reconnects by itself, stores in batches."""

    name = "ingest"

    def __init__(
        self, settings: Settings, factory: sessionmaker[Session], *, client_id: str | None = None
    ) -> None:
        self.settings = settings
        self.factory = factory
        self.client_id = client_id or settings.ingest_client_id
        bind = factory.kw.get("bind")
        sqlite_path = bind.url.database if bind is not None and settings.is_sqlite else None
        self._checkpointer = WalCheckpointer(sqlite_path) if sqlite_path else None
        self.ctx = BatchContext(
            Thresholds.from_settings(settings),
            settings.autoresolve_reports,
            own_checkpoints=self._checkpointer is not None,
        )
        self._pending: list[Incoming] = []
        self._deadline = 0.0
        self._stopping = threading.Event()
        self._writer = BatchWriter(
            lambda batch, turn: store_batch(
                self.factory, batch, self.ctx, before_lock=turn.wait, after_lock=turn.release
            ),
            self._stopping,
            threads=1 if settings.is_sqlite else 2,
        )
        self._generation = 0
        self._received = 0
        self._connected = False
        self._client: IngestClient | None = None
        self._thread: threading.Thread | None = None
        # Figures of this process only; the totals over all processes are in IngestCounter.
        self.stored = 0
        self.duplicates = 0
        self.drops: Counter[str] = Counter()
        self.batches = 0
        self.last_commit_at: float | None = None
        self.lag_s: float | None = None
        self.last_error: str | None = None

    # --- Service ------------------------------------------------------------------------

    def start(self) -> None:
        """Start connecting and ingesting in a background thread; never blocks on the broker."""
        client = IngestClient(
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
        client.on_report = self._on_report
        self._client = client
        # Everything alive now (modules, mappers, the app) stays alive: move it out of the
        # collector's sight. Otherwise each full collection walks it again, a tenth of a
        # second every thousand or so reports while draining a backlog.
        gc.freeze()
        if self._checkpointer is not None:
            self._checkpointer.start()
        self._writer.start()
        self._thread = threading.Thread(target=self._run, name="ingest", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Store and acknowledge what is in hand, disconnect (the broker keeps the session)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        if self._checkpointer is not None:
            self._checkpointer.stop()
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
            "pending": len(self._pending) + self._writer.waiting,
            "lag_s": self.lag_s,
            "last_error": self.last_error or self._writer.last_error,
        }

    @property
    def errors(self) -> int:
        """Batches that failed to store (each retried, or stored one report at a time)."""
        return self._writer.errors

    @property
    def connected(self) -> bool:
        """Whether the MQTT connection is up now."""
        return self._connected

    # --- the loop -------------------------------------------------------------------------

    def _connect_props(self) -> Properties:
        props = Properties(PacketTypes.CONNECT)
        # The broker keeps the session (and queues reports) this long while ingest is down.
        props.SessionExpiryInterval = self.settings.ingest_session_expiry_s
        # Unacknowledged messages the broker may have in flight to us: several batches.
        props.ReceiveMaximum = self.settings.ingest_receive_maximum
        return props

    def _run(self) -> None:
        client = self._client
        assert client is not None
        backoff, first = 1.0, True
        host, port = self.settings.mqtt_host, self.settings.mqtt_port
        log.info("ingest %s: connecting to %s:%s", self.client_id, host, port)
        while not self._stopping.is_set():
            try:
                if first:
                    client.connect(
                        host,
                        port,
                        keepalive=30,
                        clean_start=False,
                        properties=self._connect_props(),
                    )
                    first = False
                else:
                    client.reconnect()
            except (OSError, ValueError) as exc:
                self.last_error = f"broker {host}:{port}: {exc}"
                log.warning("ingest %s: %s; retrying in %.0fs", self.client_id, exc, backoff)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, _RECONNECT_MAX_S)
                continue
            while not self._stopping.is_set():
                if self._writer.in_hand > self._writer.threads and not self._writer.retrying:
                    # A batch waits for a free writer already: reading on now would only take
                    # the GIL from the writers. Let the socket fill up meanwhile. (While the
                    # database is down, read on: the broker's PINGRESPs must be read.)
                    self._writer.wait_progress(0.05)
                    self._ack_stored()
                    if client.loop_misc() != mqtt.MQTT_ERR_SUCCESS:
                        break
                    continue
                timeout = self._deadline - time.monotonic() if self._pending else 0.2
                if self._writer.busy:  # come back soon to acknowledge what it committed
                    timeout = min(timeout, 0.005)
                rc = client.loop(timeout=max(0.0, min(timeout, 0.2)))
                if rc == mqtt.MQTT_ERR_SUCCESS:
                    rc = self._read_burst(client)
                if self._pending and (
                    len(self._pending) >= self.settings.ingest_batch_size
                    or time.monotonic() >= self._deadline
                ):
                    self._flush()
                self._ack_stored()
                if rc != mqtt.MQTT_ERR_SUCCESS:
                    break
            if self._connected and not self._stopping.is_set():
                continue
            if self._stopping.is_set():
                break
            # Connection lost: the unacknowledged ones come again on the next connection.
            self._flush()
            self._stopping.wait(backoff)
            backoff = min(backoff * 2, _RECONNECT_MAX_S)
        # Store what is in hand and acknowledge it, then leave (the broker keeps the session).
        self._flush()
        self._writer.finish()
        self._ack_stored()
        if self._connected:
            client.disconnect()
            client.loop(timeout=0.5)
        self._connected = False

    def _read_burst(self, client: IngestClient) -> mqtt.MQTTErrorCode:
        """Read the messages already waiting on the socket, without a select() for each.

        `loop()` selects, then reads one packet; with a backlog that select is a third of the
        cost of a message. `loop_read()` on a socket with nothing more to read returns at once,
        so read until a call brings no message (or the batch is full and due for a commit).
        """
        rc = mqtt.MQTT_ERR_SUCCESS
        for _ in range(self.settings.ingest_batch_size):
            before = self._received
            rc = client.loop_read()
            if rc != mqtt.MQTT_ERR_SUCCESS or self._received == before:
                break
            if len(self._pending) >= self.settings.ingest_batch_size:
                break
        return rc

    # --- paho callbacks (this same thread) ------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any = None
    ) -> None:
        if reason.is_failure:
            self.last_error = f"broker refused connection: {reason}"
            log.warning("ingest %s: %s", self.client_id, self.last_error)
            return
        self._generation += 1
        self._connected = True
        self.last_error = None
        topic = shared_subscription("health", self.settings.ingest_group)
        client.subscribe(topic, options=SubscribeOptions(qos=1))
        log.info("ingest %s connected (session present: %s)", self.client_id, flags.session_present)

    def _on_disconnect(
        self, _c: mqtt.Client, _u: Any, _flags: Any, reason: Any, _p: Any = None
    ) -> None:
        self._generation += 1
        self._connected = False
        if not self._stopping.is_set():
            log.warning("ingest %s disconnected (%s); reconnecting", self.client_id, reason)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self._on_report(msg.topic, msg.payload, msg.mid)

    def _on_report(self, topic: str, payload: bytes | bytearray, mid: int) -> None:
        self._received += 1
        incoming = Incoming(topic, payload, mid, self._generation, time.monotonic())
        try:
            incoming.checked = classify(topic, payload)
        except Exception:  # the loop's edge: a validator bug must not drop the connection
            log.exception("ingest: validating a message on %s failed", topic)
            incoming.checked = "invalid"
        if not self._pending:
            self._deadline = incoming.received + self.settings.ingest_batch_ms / 1000
        self._pending.append(incoming)

    # --- batches --------------------------------------------------------------------------

    def _flush(self) -> None:
        """Hand the pending batch to the writer thread, which stores it in order."""
        batch, self._pending = self._pending, []
        self._writer.submit(batch)

    def _ack_stored(self) -> None:
        """Acknowledge every batch the writer has committed (this thread drives paho)."""
        for done in self._writer.take_done():
            self._ack(done.batch)
            self._account(done.result)

    def _ack(self, batch: list[Incoming]) -> None:
        client = self._client
        if client is None or not self._connected:
            return
        generation = self._generation
        client.ack_many([m.mid for m in batch if m.generation == generation])

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
