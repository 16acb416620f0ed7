"""All API routers under /api/v1; each resource's routes live in api/routes/<resource>.py."""

from __future__ import annotations

from fastapi import APIRouter

from server.api.routes import (
    auth,
    devices,
    enrollment,
    flags,
    loans,
    locations,
    reports,
    stations,
    telemetry,
    users,
)

api_router = APIRouter(prefix="/api/v1")
for module in (
    auth, users, devices, loans, locations, reports, flags, enrollment, telemetry, stations
):  # fmt: skip
    api_router.include_router(module.router)
