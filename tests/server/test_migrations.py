"""Migrations build exactly the models' schema, and data migrations carry existing rows."""

from __future__ import annotations

from datetime import UTC, date, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from server.core.config import Settings
from server.core.db import make_engine, make_sessionmaker
from server.core.migrate import upgrade
from server.models import Base
from server.reach import reach
from server.region import seed_region


def test_migrations_match_the_models(db_settings: Settings) -> None:
    engine = make_engine(db_settings)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_reach_facts_are_filled_from_existing_loans(tmp_path: object) -> None:
    from server.core.config import load_settings

    settings = load_settings(data_dir=tmp_path, database_url="")  # type: ignore[arg-type]
    engine = make_engine(settings)
    upgrade(engine, "0003")
    factory = make_sessionmaker(engine)
    with factory() as s:
        seed_region(s)
        s.commit()
    now = datetime.now(UTC).isoformat()
    with engine.begin() as conn:
        point = conn.execute(text("SELECT max(id) FROM locations")).scalar()
        bank = conn.execute(text("SELECT m.digibank_id FROM locations l JOIN municipalities m "
                                 "ON m.id = l.municipality_id WHERE l.id = :p"), {"p": point}).scalar()  # fmt: skip
        conn.execute(text("INSERT INTO devices (id, asset_tag, kind, state, location_id, created_at, "
                          "updated_at, intake_at, report_interval_s) VALUES (1, 'DB-1', 'laptop', "
                          "'on_loan', :p, :t, :t, :t, 900)"), {"p": point, "t": now})  # fmt: skip
        conn.execute(text("INSERT INTO borrowers (id, ref, adult, digibank_id, created_at) "
                          "VALUES (1, 'B1', 1, :b, :t)"), {"b": bank, "t": now})  # fmt: skip
        conn.execute(text("INSERT INTO loans (device_id, borrower_id, location_id, started_at, due_date, "
                          "extended_count) VALUES (1, 1, :p, :t, :d, 0)"),
                     {"p": point, "t": now, "d": date(2099, 1, 1)})  # fmt: skip
    upgrade(engine)
    with factory() as s:
        banks, munis = reach(s, 1000)
    engine.dispose()
    assert sum(r.adults for r in banks) == 1
    assert sum(r.adults for r in munis) == 1
