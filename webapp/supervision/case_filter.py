"""The district's case lists as the case search (`/cases`, its exports) and the overdue list filter them: the
filter form, its SQL condition within the reader's jurisdiction, paging, and a row as the pages show it."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

import asyncpg
from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticUseDefault

from infra.clock import BEIJING
from rules.stages import STAGE_LABELS, Stage
from schemas.identity import mask_id
from schemas.money import from_fen
from schemas.review import AssistanceType
from schemas.staff import Actor
from webapp.supervision.common import beijing

PAGE_SIZE = 50
ORDER = "order by c.deadline asc nulls last, c.accepted_at, c.case_id"
# A search made only of ID characters is an ID (or its tail); anything else is a name prefix.
_ID_QUERY = re.compile(r"[0-9Xx*]+")
HANDLED_BY_LABELS = {"township": "乡镇（街道）", "district": "区民政局"}
# Open means "not in a closed stage". The stage column is rewritten with every event; the status column
# can be left at 'open' when a decision's event and the closing event are persisted concurrently.
CLOSED_STAGES = [s.value for s in Stage if s.closed]
IS_OPEN = "c.stage not in ({})".format(", ".join(f"'{s}'" for s in CLOSED_STAGES))


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

    def where(self, actor: Actor, scope: str) -> tuple[str, list[Any]]:
        """SQL condition and parameters; `scope`, the actor's jurisdiction on `$1` (`review.cases.jurisdiction`),
        is always the first condition."""
        params: list[Any] = [actor.place_code]
        where = [scope]

        def add(condition: str, value: Any) -> None:
            params.append(value)
            where.append(condition.format(f"${len(params)}"))

        if self.township:
            add("c.township_code = {}", self.township)
        if self.type:
            add("c.assistance_type = {}", self.type.value)
        if self.stage:
            add("c.stage = {}", self.stage.value)
        if self.overdue is not None:
            add("c.overdue = {}", self.overdue)
        # Beijing days as a range of accepted_at itself, not a cast of every row's timestamp.
        if self.accepted_from:
            add("c.accepted_at >= {}", datetime.combine(self.accepted_from, time(0), BEIJING))
        if self.accepted_to:
            add("c.accepted_at < {}", datetime.combine(self.accepted_to + timedelta(days=1), time(0), BEIJING))
        if self.q:
            if not _ID_QUERY.fullmatch(self.q):
                add("starts_with(c.applicant_name, {})", self.q)
            elif len(self.q) == 18 and "*" not in self.q:
                add("c.applicant_id_masked = {}", mask_id(self.q.upper()))  # a full ID, masked as stored
            else:
                add("c.applicant_id_masked like '%' || {}", self.q.upper())  # the tail, e.g. the last 4
        return " and ".join(where), params

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


async def township_options(db: asyncpg.Pool, actor: Actor) -> list[asyncpg.Record]:
    """The townships of the actor's jurisdiction: all for the district, one for township or village staff."""
    return await db.fetch(
        "select code, name from places where level = 'township' and (starts_with(code, $1) or starts_with($1, code)) "
        "order by code",
        actor.place_code,
    )


def page_links(page: int, pages: int) -> list[int | None]:
    """First, last and two either side of the current page; None marks a gap."""
    wanted = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    links: list[int | None] = []
    for n in wanted:
        if links and n - (links[-1] or 0) > 1:
            links.append(None)
        links.append(n)
    return links


def row_view(row: asyncpg.Record) -> dict[str, Any]:
    """A case row with what the templates and exports show: Beijing dates, labels, yuan."""
    fen = row["monthly_amount_fen"]
    return dict(row) | {
        "type_label": AssistanceType(row["assistance_type"]).label,
        "stage_label": STAGE_LABELS.get(row["stage"], row["stage"]),
        "open": row["stage"] not in CLOSED_STAGES,
        "handled_by_label": HANDLED_BY_LABELS.get(row["handled_by"], row["handled_by"]),
        "accepted_local": beijing(row["accepted_at"]),
        "decided_local": beijing(row["decided_at"]) if row["decided_at"] else None,
        "monthly_amount": None if fen is None else from_fen(fen),
    }
