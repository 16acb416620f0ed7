"""The agent's run loop: collect on an interval, spool, publish in order, obey commands.

`Agent` holds no global state: the demo runs many in one process, each with its own
configuration, collector and MQTT connection, each in its own thread.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

from agent.backoff import Backoff
from agent.collect import Collector, build_report
from agent.config import AgentConfig
from agent.mqtt import MAX_INFLIGHT, LinkState, MqttLink
from agent.report import MAX_REPORT_BYTES, Command, HealthReport, ReportError, health_topic
from agent.spool import Spool
from agent.state import SequenceStore, StatusStore, load_interval, save_interval

log = logging.getLogger(__name__)

SPOOL_DIR = "spool"
# PUBACK reasons that say this report can never be accepted (too large, malformed):
# keeping it would block every report behind it forever.
PERMANENT_REFUSALS = frozenset({0x95, 0x99})
# "No matching subscribers": the broker took the report but nobody got it, as after a
# Mosquitto 2.0.11 restart, before ingest has subscribed again. Send it again shortly.
NO_SUBSCRIBERS = 0x10
NO_SUBSCRIBERS_HOLD_S = 30.0
REFUSAL_HOLD_MIN_S = 60.0
REFUSAL_HOLD_MAX_S = 3600.0
STATUS_FLUSH_S = 5.0
TICK_S = 0.5


class Notifier(Protocol):
    """Shows a message to the borrower."""

    def notify(self, title: str, message: str) -> bool:
        """Show it; True when something was shown."""
        ...


class LogNotifier:
    """A notifier that only logs (simulated devices, headless machines)."""

    def notify(self, title: str, message: str) -> bool:
        """Log the message."""
        log.warning("message for the borrower: %s: %s", title, message)
        return False


def state_spool(config: AgentConfig) -> Spool:
    """Open the spool in the config's state folder (without status callbacks)."""
    return Spool(config.state_dir / SPOOL_DIR, config.spool_max_reports, config.spool_max_bytes)


class Agent:
    """One device's agent; `run()` blocks until `stop()` (call it from another thread)."""

    def __init__(
        self,
        config: AgentConfig,
        collector: Collector,
        notifier: Notifier | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if config.device_id is None:
            raise ValueError("the agent needs an enrolled configuration (run `enroll` first)")
        self.config = config
        self.device_id = config.device_id
        self.collector = collector
        self.notifier = notifier or LogNotifier()
        self.clock = clock
        self.status = StatusStore(config.state_dir)
        self.spool = Spool(
            config.state_dir / SPOOL_DIR,
            config.spool_max_reports,
            config.spool_max_bytes,
            on_drop=lambda n: self.status.count("dropped", n),
            on_corrupt=lambda n: self.status.count("corrupt", n),
        )
        # The spool's newest number is a floor too: the counter never goes back below it.
        self.sequence = SequenceStore(config.state_dir, floor=self.spool.max_seq())
        self.interval_s = load_interval(config.state_dir) or config.interval_s
        self.link = MqttLink(config, self)
        rng = rng or random.Random()
        self.backoff = Backoff(config.backoff_initial_s, config.backoff_max_s, rng)
        self.refusal_backoff = Backoff(REFUSAL_HOLD_MIN_S, REFUSAL_HOLD_MAX_S, rng)
        self.no_subscribers_hold_s = NO_SUBSCRIBERS_HOLD_S
        self._rng = rng
        self._topic = health_topic(self.device_id)
        self._inflight: dict[int, int] = {}  # paho message id -> report seq
        self._stop = threading.Event()
        self._report_now = False
        self._next_collect = 0.0
        self._next_connect = 0.0
        self._hold_until = 0.0
        self._last_flush = 0.0
        self.collect_failures = 0

    # --- the loop --------------------------------------------------------------------

    def run(self) -> None:
        """Collect, spool and send until `stop()`; then say `offline` and disconnect."""
        log.info("agent for %s running, interval %d s", self.device_id, self.interval_s)
        try:
            while not self._stop.is_set():
                self.step()
        finally:
            self.link.close()
            self.status.flush()
            log.info("agent for %s stopped", self.device_id)

    def stop(self) -> None:
        """Ask `run()` to finish (thread-safe)."""
        self._stop.set()

    def step(self) -> None:
        """One turn of the loop: collect if due, (re)connect if due, publish, wait for I/O."""
        now = self.clock()
        if self._report_now or now >= self._next_collect:
            self._report_now = False
            self._next_collect = now + self.interval_s
            self.collect_once()
        due = self.link.state is LinkState.DISCONNECTED and now >= self._next_connect
        if due and not self.link.start_connect():
            self._schedule_reconnect("connect failed")
        if self.link.connected:
            self._publish_pending(now)
        wait = max(0.0, min(TICK_S, self._next_collect - now))
        if self.link.state is LinkState.DISCONNECTED:
            self._stop.wait(wait)
        else:
            self.link.loop(wait)
        if now - self._last_flush >= STATUS_FLUSH_S:
            self._last_flush = now
            self.status.flush()

    def collect_once(self) -> HealthReport | None:
        """Take a report now and spool it (its sequence number is stored first)."""
        try:
            snapshot = self.collector.collect()
            seq = self.sequence.next()
            report = build_report(snapshot, self.device_id, seq)
            payload = _fit(report)
            # What the server would refuse must fail here, loudly, not later in the spool.
            HealthReport.from_json(payload)
            self.spool.add(seq, payload)
        except Exception:  # the edge of the collection loop: logged, counted, next one tries again
            self.collect_failures += 1
            log.exception("collection failed")
            return None
        log.debug("report %d spooled (%d waiting)", seq, len(self.spool))
        return report

    def _schedule_reconnect(self, reason: str) -> None:
        delay = self.backoff.next_delay()
        self._next_connect = self.clock() + delay
        log.info("broker unavailable (%s); next attempt in %.1f s", reason, delay)

    def _publish_pending(self, now: float) -> None:
        if now < self._hold_until:
            return
        room = MAX_INFLIGHT - len(self._inflight)
        if room <= 0:
            return
        busy = set(self._inflight.values())
        for seq in self.spool.head(len(busy) + room):
            if room <= 0:
                break
            if seq in busy:
                continue
            payload = self.spool.read(seq)
            if payload is not None:
                self._inflight[self.link.publish(self._topic, payload)] = seq
                room -= 1

    # --- events from the MQTT link ------------------------------------------------------

    def on_connected(self) -> None:
        """Connected: forget past failures."""
        self.backoff.reset()

    def on_disconnected(self, reason: str) -> None:
        """Lost or refused: try again after a jittered delay."""
        self._schedule_reconnect(reason)

    def on_acked(self, mid: int, reason_code: int, reason: str) -> None:
        """A PUBACK: remove the report, or keep it and pause when the broker refused it."""
        seq = self._inflight.pop(mid, None)
        if seq is None:
            return  # the retained online/offline status
        if reason_code == NO_SUBSCRIBERS:
            # Kept in the spool and sent again after a jittered pause; the server stores each
            # (device, seq) once, so a report that did arrive somewhere is not doubled.
            self._hold_until = self.clock() + self.no_subscribers_hold_s * (
                0.5 + self._rng.random()
            )
            self.status.count("undelivered")
            log.warning("report %d reached no subscriber; keeping it to send again", seq)
            return
        if reason_code < 0x80:
            self.spool.remove(seq)
            self.status.sent(datetime.now(UTC))
            self.refusal_backoff.reset()
        elif reason_code in PERMANENT_REFUSALS:
            log.error("broker rejected report %d for good (%s); dropping it", seq, reason)
            self.spool.remove(seq)
            self.status.count("rejected")
        else:
            # e.g. 135 Not authorized: retrying at once cannot help, but the credentials may be
            # restored, so the report stays spooled and publishing pauses.
            hold = max(REFUSAL_HOLD_MIN_S, self.refusal_backoff.next_delay())
            self._hold_until = self.clock() + hold
            self.status.count("refused")
            log.error(
                "broker refused report %d (%s); keeping it, pausing %.0f s", seq, reason, hold
            )

    def on_command(self, payload: bytes) -> None:
        """Obey a server command; a malformed one is logged and ignored."""
        try:
            command = Command.from_json(payload)
        except ReportError as exc:
            log.warning("ignoring a malformed command: %s", exc)
            return
        log.info("command: %s", command.type)
        if command.type == "set_interval" and command.interval_s is not None:
            self.set_interval(command.interval_s)
        elif command.type == "report_now":
            self._report_now = True
        elif command.type == "notify" and command.message is not None:
            self.notifier.notify(command.title or "Digibank", command.message)

    def set_interval(self, interval_s: int) -> None:
        """Change and persist the interval; the next report follows the new pace."""
        save_interval(self.config.state_dir, interval_s)
        now = self.clock()
        last = self._next_collect - self.interval_s
        self.interval_s = interval_s
        self._next_collect = max(now, last + interval_s)


def _fit(report: HealthReport) -> bytes:
    """The report's JSON, shedding collection errors if it would exceed the size limit."""
    payload = report.to_json()
    while len(payload) > MAX_REPORT_BYTES and report.errors:
        report = replace(report, errors=report.errors[:-1])
        payload = report.to_json()
    return payload
