"""The household view over HTTP: `POST /api/households/lookup` with the ID number in the body."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

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
async def lookup_household(query: HouseholdQuery, actor: CurrentActor, db: Db):
    """Cases (with their household members), recipients register, emergencies, front-door requests, referrals
    and complaints; township staff see what lies in their township and a count of the rest."""
    return await household_view(db, query.id_number, actor)
