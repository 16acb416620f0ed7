"""Station keys: stations publish their certificate-signing key; anyone may read them."""

from __future__ import annotations

import hashlib
from typing import Annotated

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import APIRouter, Response
from fastapi import Path as FastAPIPath
from pydantic import BaseModel, Field
from sqlalchemy import select

from server.api.deps import SessionDep, StaffOrStation
from server.api.schemas import Str128, Strict
from server.errors import InvalidInput, NotFound
from server.models import StationKey

router = APIRouter(prefix="/stations", tags=["stations"])


class StationKeyIn(Strict):
    public_key_pem: str = Field(min_length=1, max_length=1000)
    name: Str128 | None = Field(None, description="The station's name; default the caller.")


class StationKeyOut(BaseModel):
    key_id: str
    name: str
    public_key_pem: str
    registered_by: str


def _key_id(pem: str) -> tuple[str, str]:
    """(fingerprint, normalised PEM) of an Ed25519 public key; InvalidInput otherwise."""
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError):
        raise InvalidInput("public_key_pem: not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput("public_key_pem: stations sign with Ed25519 keys")
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    normal = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    # The same fingerprint the station prints: SHA-256 of the raw key, 16 hex digits.
    return hashlib.sha256(raw).hexdigest()[:16], normal


def _out(row: StationKey) -> StationKeyOut:
    return StationKeyOut(
        key_id=row.key_id,
        name=row.name,
        public_key_pem=row.public_key_pem,
        registered_by=row.registered_by,
    )


@router.post("/keys", response_model=StationKeyOut, status_code=201)
def publish_key(body: StationKeyIn, session: SessionDep, who: StaffOrStation) -> StationKeyOut:
    """Publish a station's public key (publishing the same key again changes nothing)."""
    key_id, pem = _key_id(body.public_key_pem)
    row = session.scalar(select(StationKey).where(StationKey.key_id == key_id))
    if row is None:
        row = StationKey(key_id=key_id, name=body.name or who.name, public_key_pem=pem,
                         registered_by=who.name)  # fmt: skip
        session.add(row)
        session.commit()
    return _out(row)


@router.get("/keys", response_model=list[StationKeyOut])
def list_keys(session: SessionDep) -> list[StationKeyOut]:
    """Every published station key; no login needed, so anyone can verify a certificate."""
    return [_out(r) for r in session.scalars(select(StationKey).order_by(StationKey.id))]


@router.get("/keys/{key_id}.pem", responses={200: {"content": {"application/x-pem-file": {}}}})
def get_key_pem(
    key_id: Annotated[str, FastAPIPath(pattern=r"^[0-9a-f]{16}$")], session: SessionDep
) -> Response:
    """One station key as a PEM file (for `digibank-station verify --public-key`)."""
    row = session.scalar(select(StationKey).where(StationKey.key_id == key_id))
    if row is None:
        raise NotFound(f"no station key {key_id!r}")
    return Response(row.public_key_pem, media_type="application/x-pem-file")
