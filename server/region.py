"""The region: digibanks, municipalities, the hub and a starting digipunt per municipality."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.errors import InvalidInput
from server.models import Digibank, Location, Municipality

REGION_FILE = Path(__file__).resolve().parent / "data" / "region.toml"


@dataclass(frozen=True)
class SeedResult:
    """What a seeding run added or changed."""

    added: int
    changed: int


def load_region(path: Path = REGION_FILE) -> dict[str, Any]:
    """Read and check the region file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(f"{path}: {exc}") from None
    banks = data.get("digibanks", [])
    for m in data.get("municipality", []):
        if m.get("digibank") not in banks:
            raise InvalidInput(
                f"{path}: {m.get('name')!r} names unknown digibank {m.get('digibank')!r}"
            )
    return data


def seed_region(session: Session, path: Path = REGION_FILE) -> SeedResult:
    """Create what the region file lists and is missing; running it twice changes nothing."""
    data = load_region(path)
    added = changed = 0
    banks: dict[str, Digibank] = {}
    for name in data["digibanks"]:
        bank = session.scalar(select(Digibank).where(Digibank.name == name))
        if bank is None:
            bank = Digibank(name=name)
            session.add(bank)
            session.flush()
            added += 1
        banks[name] = bank
    hub_name = data.get("hub", {}).get("name", "Hub")
    if session.scalar(select(Location).where(Location.kind == "hub")) is None:
        session.add(Location(kind="hub", name=hub_name, address=data["hub"].get("address") or None))
        added += 1
    for m in data.get("municipality", []):
        muni = session.scalar(select(Municipality).where(Municipality.name == m["name"]))
        bank = banks[m["digibank"]]
        if muni is None:
            muni = Municipality(name=m["name"], nis_code=m.get("nis"), digibank_id=bank.id)
            session.add(muni)
            session.flush()
            added += 1
        elif muni.digibank_id != bank.id:
            muni.digibank_id = bank.id
            changed += 1
        point = f"Digipunt {m['name']}"
        if session.scalar(select(Location).where(Location.name == point)) is None:
            session.add(Location(kind="digipunt", name=point, municipality_id=muni.id))
            added += 1
    session.flush()
    return SeedResult(added=added, changed=changed)
