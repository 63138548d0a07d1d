"""The household view over HTTP: `POST /api/households/lookup` with the ID number in the body."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from webapp import access_log
from webapp.deps import CurrentActor, Db
from webapp.frontdoor.models import ERRORS
from webapp.household.service import HouseholdView, household_view

router = APIRouter(prefix="/api", tags=["12349 一门受理"])


class HouseholdQuery(BaseModel):
    """The person to look up, in the body: an ID number in a URL would stay in proxy logs and browser history."""

    id_number: str = Field(max_length=18, description="居民身份证号码")


@router.post(
    "/households/lookup", response_model=HouseholdView, summary="一户一档：某人的全部救助信息", responses=ERRORS
)
async def lookup_household(request: Request, query: HouseholdQuery, actor: CurrentActor, db: Db):
    """Cases (with their household members), recipients register, emergencies, front-door requests, referrals
    and complaints; township staff see what lies in their township and a count of the rest. Each look-up is
    in the access log (the number's keyed hash and masked form, never the number)."""
    view = await household_view(db, query.id_number, actor)
    await access_log.household(request, actor, query.id_number)
    return view
