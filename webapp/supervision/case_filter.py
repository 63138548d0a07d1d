"""The district's case lists as the case search (`/cases`, its exports) and the overdue list filter them: the
filter form and the query it makes (`db.case_lists_repo.CaseQuery`), paging, and a row as the pages show it."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

import asyncpg
from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticUseDefault

from db import places_repo
from db.case_lists_repo import CaseQuery
from db.cases_repo import CaseRow
from db.places_repo import Place
from rules.stages import STAGE_LABELS, Stage
from schemas.identity import mask_id
from schemas.money import from_fen
from schemas.review import AssistanceType
from schemas.staff import Actor
from webapp.supervision.common import beijing

PAGE_SIZE = 50
# A search made only of ID characters is an ID (or its tail); anything else is a name prefix.
_ID_QUERY = re.compile(r"[0-9Xx*]+")
HANDLED_BY_LABELS = {"township": "乡镇（街道）", "district": "区民政局"}
# Open means "not in a closed stage" (db.case_lists_repo.IS_OPEN).
CLOSED_STAGES = [s.value for s in Stage if s.closed]


class CaseFilter(BaseModel):
    """The list's filters as the form sends them: an empty field means "any"."""

    model_config = ConfigDict(extra="ignore")

    township: str | None = Field(None, pattern=r"^\d{9}$")
    type: AssistanceType | None = None
    stage: Stage | None = None
    overdue: bool | None = None
    accepted_from: date | None = None
    accepted_to: date | None = None
    q: str | None = Field(None, max_length=30)
    page: int = Field(1, ge=1)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_any(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            if not value:
                raise PydanticUseDefault()
        return value

    @model_validator(mode="after")
    def _whole_id_masked(self) -> CaseFilter:
        """A whole ID number is kept only masked (as the cases store it): the filter goes into the page's
        links, its export's and the access log, never the number itself."""
        if self.q is not None and len(self.q) == 18 and _ID_QUERY.fullmatch(self.q) and "*" not in self.q:
            self.q = mask_id(self.q.upper())
        return self

    def cases(self, within: str) -> CaseQuery:
        """The cases these filters select within the place `within` (the reader's jurisdiction)."""
        q = self.q
        by_id = q is not None and _ID_QUERY.fullmatch(q) is not None
        whole_id = by_id and len(q) == 18 and q[6:14] == "********"  # a whole ID, masked as stored
        return CaseQuery(
            within=within,
            township=self.township,
            assistance_type=self.type and self.type.value,
            stage=self.stage and self.stage.value,
            overdue=self.overdue,
            accepted_from=self.accepted_from,
            accepted_to=self.accepted_to,
            name_prefix=None if by_id else q,
            id_masked=q.upper() if whole_id else None,
            id_tail=q.upper() if by_id and not whole_id else None,  # the tail, e.g. the last 4
        )

    def query(self, **changes: Any) -> str:
        """This filter as a query string (for page and export links), with `changes` applied."""
        values = self.model_dump() | changes
        pairs = []
        for key, value in values.items():
            if value is None or (key == "page" and value == 1):
                continue
            if isinstance(value, bool):
                value = "true" if value else "false"
            pairs.append((key, str(value)))
        return urlencode(pairs)


Filters = Annotated[CaseFilter, Query()]


async def township_options(db: asyncpg.Pool, actor: Actor) -> list[Place]:
    """The townships of the actor's jurisdiction: all for the district, one for township or village staff."""
    return await places_repo.townships_of(db, actor.place_code)


def page_links(page: int, pages: int) -> list[int | None]:
    """First, last and two either side of the current page; None marks a gap."""
    wanted = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    links: list[int | None] = []
    for n in wanted:
        if links and n - (links[-1] or 0) > 1:
            links.append(None)
        links.append(n)
    return links


def row_view(row: CaseRow) -> dict[str, Any]:
    """A case row with what the templates and exports show: Beijing dates, labels, yuan."""
    fen = row.monthly_amount_fen
    return dict(row) | {
        "type_label": row.assistance_type.label,
        "stage_label": STAGE_LABELS.get(row.stage, row.stage),
        "open": row.stage not in CLOSED_STAGES,
        "handled_by_label": HANDLED_BY_LABELS.get(row.handled_by, row.handled_by),
        "accepted_local": beijing(row.accepted_at),
        "decided_local": beijing(row.decided_at) if row.decided_at else None,
        "monthly_amount": None if fen is None else from_fen(fen),
    }
