"""Reports for managers and funders: reach against the 1,000-adult target."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Response

from server.api.deps import SessionDep, SettingsDep, Staff
from server.api.schemas import ReachOut, ReachRow, SaneDate
from server.reach import ReachFigure, reach, reach_csv
from server.timeutil import utcnow

router = APIRouter(prefix="/reports", tags=["reports"])


def _row(r: ReachFigure) -> ReachRow:
    return ReachRow(
        digibank=r.digibank,
        municipality=r.municipality,
        adults=r.adults,
        target=r.target,
        pct_of_target=r.pct_of_target,
    )


@router.get(
    "/reach",
    response_model=ReachOut,
    responses={200: {"content": {"text/csv": {}}}},
)
def get_reach(
    session: SessionDep,
    settings: SettingsDep,
    _: Staff,
    format: Literal["json", "csv"] = "json",
    since: SaneDate | None = None,
    until: SaneDate | None = None,
) -> ReachOut | Response:
    """Distinct adult borrowers per digibank and municipality, optionally in a period."""
    banks, munis = reach(session, settings.reach_target_adults, since, until)
    if format == "csv":
        stamp = date.today().isoformat()
        return Response(
            reach_csv(banks, munis),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="reach-{stamp}.csv"'},
        )
    return ReachOut(
        target_per_digibank=settings.reach_target_adults,
        digibanks=[_row(r) for r in banks],
        municipalities=[_row(r) for r in munis],
        generated_at=utcnow(),
    )
