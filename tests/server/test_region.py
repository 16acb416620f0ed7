"""The region file and seeding."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.models import Digibank, Location, Municipality
from server.region import REGION_FILE, load_region, seed_region

TEN = {"Beernem", "Blankenberge", "Brugge", "Damme", "Jabbeke", "Knokke-Heist", "Oostkamp",
       "Torhout", "Zedelgem", "Zuienkerke"}  # fmt: skip


def test_region_file_has_the_ten_municipalities_and_says_it_is_a_default() -> None:
    data = load_region()
    assert {m["name"] for m in data["municipality"]} == TEN
    assert set(data["digibanks"]) == {"Noord", "West", "Brugge"}
    assert "TO BE CONFIRMED LOCALLY" in REGION_FILE.read_text()


def test_seed_twice_changes_nothing(session: Session) -> None:
    # the app_client fixture seeded once already
    counts = [
        session.scalar(select(func.count()).select_from(t))
        for t in (Digibank, Municipality, Location)
    ]
    assert counts == [3, 10, 11]
    result = seed_region(session)
    assert (result.added, result.changed) == (0, 0)
    names = set(session.scalars(select(Location.name).where(Location.kind == "digipunt")))
    assert names == {f"Digipunt {m}" for m in TEN}


def test_edited_assignment_moves_a_municipality(session: Session, tmp_path: Path) -> None:
    edited = tmp_path / "region.toml"
    edited.write_text(
        REGION_FILE.read_text().replace('name = "Damme"\nnis = "31006"\ndigibank = "Noord"',
                                        'name = "Damme"\nnis = "31006"\ndigibank = "Brugge"')
    )  # fmt: skip
    result = seed_region(session, edited)
    assert (result.added, result.changed) == (0, 1)
    damme = session.scalar(select(Municipality).where(Municipality.name == "Damme"))
    assert damme is not None and damme.digibank.name == "Brugge"
