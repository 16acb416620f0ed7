"""Background services that live beside the API in one process (ingest, scheduled rules)."""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from server.core.config import Settings


class Service(Protocol):
    """Something started with the app and stopped with it."""

    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def health(self) -> dict[str, Any]: ...


def background_services(settings: Settings, factory: sessionmaker[Session]) -> list[Service]:
    """The services the API process runs beside itself: ingest (if enabled) and the scheduler."""
    from server.ingest import IngestService
    from server.scheduler import SchedulerService

    services: list[Service] = []
    if settings.ingest_enabled:
        services.append(IngestService(settings, factory))
    services.append(SchedulerService(settings, factory))
    return services
