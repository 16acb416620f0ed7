"""Prometheus metrics at /metrics: reports stored, drops by reason, ingest lag and connection,
devices by presence, unresolved flags by reason. Read from the database at scrape time, so
the figures are the whole hub's, whichever process ingests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from server.core.config import Settings
from server.models import Flag, HealthReportRow, IngestCounter
from server.presence import PresenceRules, presence_counts
from server.timeutil import utcnow

log = logging.getLogger(__name__)


class HubCollector(Collector):
    """Collects the hub's figures on each scrape."""

    def __init__(self, app: FastAPI, settings: Settings, factory: sessionmaker[Session]) -> None:
        self.app = app
        self.settings = settings
        self.factory = factory

    def collect(self) -> Iterator[Metric]:
        """The metric families, fresh from the database and the in-process services."""
        now = utcnow()
        with self.factory() as session:
            counters = dict(
                session.execute(select(IngestCounter.name, IngestCounter.count)).tuples().all()
            )
            presence = presence_counts(session, PresenceRules.from_settings(self.settings), now)
            open_flags = session.execute(
                select(Flag.kind, Flag.reason, func.count())
                .where(Flag.status != "resolved")
                .group_by(Flag.kind, Flag.reason)
            ).all()
            newest = session.scalar(select(func.max(HealthReportRow.received_at)))
        stored = CounterMetricFamily(
            "digibank_reports_stored", "Health reports stored (all ingest processes)."
        )
        stored.add_metric([], counters.get("stored", 0))
        yield stored
        dup = CounterMetricFamily(
            "digibank_reports_duplicate", "Redelivered reports that were already stored."
        )
        dup.add_metric([], counters.get("duplicate", 0))
        yield dup
        dropped = CounterMetricFamily(
            "digibank_reports_dropped", "Messages dropped by ingest, by reason.", labels=["reason"]
        )
        for name, count in sorted(counters.items()):
            if name.startswith("dropped."):
                dropped.add_metric([name.removeprefix("dropped.")], count)
        yield dropped
        devices = GaugeMetricFamily(
            "digibank_devices", "Devices by presence (retired left out).", labels=["presence"]
        )
        for state, count in presence.items():
            devices.add_metric([state], count)
        yield devices
        flags = GaugeMetricFamily(
            "digibank_flags_open", "Unresolved flags by kind and reason.", labels=["kind", "reason"]
        )
        for kind, reason, count in open_flags:
            flags.add_metric([kind, reason], count)
        yield flags
        yield from self._ingest(newest, now)

    def _ingest(self, newest: Any, now: Any) -> Iterator[Metric]:
        age = GaugeMetricFamily(
            "digibank_ingest_last_stored_age_seconds", "Seconds since the newest report was stored."
        )
        if newest is not None:
            age.add_metric([], max(0.0, (now - newest).total_seconds()))
        yield age
        lag = GaugeMetricFamily(
            "digibank_ingest_lag_seconds",
            "Commit time minus measurement time of the newest report in the last batch.",
            labels=["client_id"],
        )
        up = GaugeMetricFamily(
            "digibank_ingest_connected",
            "1 while in-process ingest is connected.",
            labels=["client_id"],
        )
        for service in getattr(self.app.state, "services", []):
            if service.name != "ingest":
                continue
            state = service.health()
            up.add_metric([state["client_id"]], 1.0 if state["connected"] else 0.0)
            if state.get("lag_s") is not None:
                lag.add_metric([state["client_id"]], state["lag_s"])
        yield lag
        yield up


def mount_metrics(app: FastAPI, settings: Settings, factory: sessionmaker[Session]) -> None:
    """Serve the hub's metrics at /metrics from a registry of its own (no process globals)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HubCollector(app, settings, factory))

    @app.get("/metrics", tags=["health"], include_in_schema=False)
    def metrics(_: Request) -> Response:
        """Prometheus text format; aggregate figures only, nothing about a person."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
