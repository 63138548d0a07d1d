"""The intake form (受理): a township caseworker types an application and it is accepted exactly as
POST /api/cases accepts it (`webapp.review.cases.accept`), so the page and the API cannot drift apart.

Rows (members, incomes, assets, declared relatives) are named `<section>-<row>-<field>`; the row
numbers survive a failed submit, so every Chinese message lands beside the field it is about.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.service import RPCError

from db import applications_repo, cases_repo, places_repo
from infra.clock import today
from rules.access import township_of
from schemas.identity import validate_resident_id
from schemas.people import RELATION_LABELS, AssetKind, DisabilityKind, HukouType, IncomeSource, Relation, SelfCare
from schemas.review import Application, AssistanceType, Channel, workflow_id_for
from schemas.staff import Actor
from webapp import access_log, authz
from webapp.deps import Db, MaybeTemporal, PageActor
from webapp.errors import ApiError
from webapp.render import refused, render
from webapp.review import cases
from webapp.review.common import COMMON_MATERIALS, field_errors, split_list
from webapp.review.models import CaseCreated
from webapp.review.workflow import settled

router = APIRouter(include_in_schema=False)

SCALARS = (
    "application_id",
    "draft_id",
    "assistance_type",
    "channel",
    "village_code",
    "address",
    "hukou_type",
    "phone",
    "attachments_other",
)
# Each section's fields, and the ones whose emptiness makes a row blank (selects always have a value).
SECTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "members": (
        (
            *("name", "id_number", "relation", "disability_grade", "disability_kind"),
            *("able_to_work", "self_care", "serious_illness"),
        ),
        ("name", "id_number"),
    ),
    "supporters": (
        ("name", "relation", "id_number", "able_to_support", "reason"),
        ("name", "id_number", "reason"),
    ),
    "incomes": (("member", "source", "monthly_amount", "note"), ("monthly_amount", "note")),
    "assets": (("kind", "description", "value"), ("description", "value")),
    "relatives": (("staff_name", "relation", "workplace", "id_number"), ("staff_name", "workplace", "id_number")),
}
_ROW_FIELD = re.compile(r"^(members|supporters|incomes|assets|relatives)-(\d{1,3})-([a-z_]+)$")
ROW_WAIT_SECONDS = 10.0
CLOSE_RELATIVES = [label for r, label in RELATION_LABELS.items() if r not in (Relation.SELF, Relation.OTHER)]


def draft_id(township_code: str) -> str:
    """`{township}-{yyyymmdd}-{random}`: readable at the window, unique enough, valid as APPLICATION_ID."""
    return f"{township_code}-{today():%Y%m%d}-{secrets.token_hex(3)}"


def blank_values(township_code: str) -> dict[str, Any]:
    return {
        **dict.fromkeys(SCALARS, ""),
        "draft_id": draft_id(township_code),
        "assistance_type": AssistanceType.DIBAO.value,
        "channel": Channel.COUNTER.value,
        "hukou_type": HukouType.RURAL.value,
        "attachments": [],
        "members": [{"i": 0, "relation": Relation.SELF.value, "able_to_work": "yes"}],
        "incomes": [],
        "assets": [],
        "relatives": [],
        "supporters": [],
    }


def read_form(form: Any) -> dict[str, Any]:
    """The form as typed (stripped), rows in row order, blank rows dropped."""
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() for k in SCALARS}
    values["attachments"] = [str(v) for v in form.getlist("attachments")]
    rows: dict[str, dict[int, dict[str, str]]] = {s: {} for s in SECTIONS}
    for key, value in form.multi_items():
        m = _ROW_FIELD.match(key)
        if m and m[3] in SECTIONS[m[1]][0]:
            rows[m[1]].setdefault(int(m[2]), {})[m[3]] = str(value).strip()
    for section, (fields, content) in SECTIONS.items():
        values[section] = [
            {"i": i} | {f: row.get(f, "") for f in fields}
            for i, row in sorted(rows[section].items())
            if any(row.get(f) for f in content)
        ]
    return values


def application_data(values: dict[str, Any], township_code: str) -> dict[str, Any]:
    """The `Application` as plain data; the model does all validation, in Chinese."""
    id_of_row = {m["i"]: m["id_number"] for m in values["members"]}
    return {
        "application_id": values["application_id"] or values["draft_id"] or draft_id(township_code),
        "assistance_type": values["assistance_type"],
        "channel": values["channel"],
        "household": {
            "township_code": township_code,
            "village_code": values["village_code"] or None,
            "address": values["address"],
            "hukou_type": values["hukou_type"],
            "phone": values["phone"] or None,
            "members": [
                {
                    "name": m["name"],
                    "id_number": m["id_number"],
                    "relation": m["relation"],
                    "disability_grade": m["disability_grade"] or None,
                    "disability_kind": m["disability_kind"] or None,
                    "able_to_work": m["able_to_work"] != "no",
                    "self_care": m["self_care"] or None,
                    "serious_illness": m["serious_illness"],
                }
                for m in values["members"]
            ],
            "supporters": [
                {
                    "name": x["name"],
                    "relation": x["relation"],
                    "id_number": x["id_number"] or None,
                    "able_to_support": x["able_to_support"] != "no",
                    "reason": x["reason"],
                }
                for x in values["supporters"]
            ],
            "incomes": [
                {
                    "member_id_number": id_of_row.get(int(x["member"])) if x["member"].isdigit() else None,
                    "source": x["source"],
                    "monthly_amount": x["monthly_amount"],
                    "note": x["note"],
                }
                for x in values["incomes"]
            ],
            "assets": [
                {"kind": a["kind"], "description": a["description"], "value": a["value"]} for a in values["assets"]
            ],
        },
        "declared_relatives": [
            {
                "staff_name": r["staff_name"],
                "relation": r["relation"],
                "workplace": r["workplace"],
                "id_number": r["id_number"] or None,
            }
            for r in values["relatives"]
        ],
        "attachments": values["attachments"] + split_list(values["attachments_other"]),
    }


def error_field(values: dict[str, Any]):
    """Model location -> form field name, through each section's row numbers."""
    row_of = {s: [r["i"] for r in values[s]] for s in SECTIONS}

    def field_of(loc: tuple) -> str | None:
        match loc:
            case ("household", "incomes", int(), "member_id_number", *_):
                return None  # the member's own ID field already says what is wrong
            case ("household", ("members" | "supporters" | "incomes" | "assets") as section, int(n), field, *_):
                return f"{section}-{row_of[section][n]}-{field}"
            case ("declared_relatives", int(n), field, *_):
                return f"relatives-{row_of['relatives'][n]}-{field}"
            case ("household",) | ("household", "members", *_):
                return "members"  # household rules: one applicant, no ID twice
            case ("household", field, *_) | (field, *_):
                return str(field)
        return None

    return field_of


# The page says the same to everyone it turns away, village cadres too (the API tells them more).
NOT_ACCEPTING = authz.PERMISSIONS["case.accept"].denied


async def _form(
    request: Request,
    actor: Actor,
    db: asyncpg.Pool,
    values: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    open_case: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    township = township_of(actor.place_code)
    context = {
        "values": values,
        "errors": errors or {},
        "message": message,
        "open_case": open_case,
        "township_name": await places_repo.place_name(db, township),
        "villages": await places_repo.places_at_level(db, "village", township),
        "assistance_types": list(AssistanceType),
        "channels": list(Channel),
        "hukou_types": list(HukouType),
        "relations": list(Relation),
        "supporter_relations": [r for r in Relation if r is not Relation.SELF],
        "disability_kinds": list(DisabilityKind),
        "self_care_levels": list(SelfCare),
        "close_relatives": CLOSE_RELATIVES,
        "income_sources": list(IncomeSource),
        "asset_kinds": list(AssetKind),
        "materials": COMMON_MATERIALS,
    }
    return render(request, "caseworker/new.html", context, status=status, actor=actor)


@router.get("/cases/new")
async def new_case(request: Request, actor: PageActor, db: Db) -> Response:
    if denied := refused(request, actor, "case.accept", NOT_ACCEPTING):
        return denied
    return await _form(request, actor, db, blank_values(township_of(actor.place_code)))


@router.post("/cases/new")
async def submit_case(request: Request, actor: PageActor, db: Db, temporal: MaybeTemporal) -> Response:
    """Accept, wait for the case row (written by the workflow's first activity), open the case page."""
    if denied := refused(request, actor, "case.accept", NOT_ACCEPTING):
        return denied
    values = read_form(await request.form())
    township = township_of(actor.place_code)
    try:
        application = Application.model_validate(application_data(values, township))
    except ValidationError as exc:
        errors = field_errors(exc.errors(), error_field(values))
        return await _form(request, actor, db, values, errors=errors, message="申请信息有误，请按提示修改", status=422)
    created = await _accept(db, temporal, actor, application)
    if isinstance(created, ApiError):  # e.g. 409 open_case_exists: the open case, where the user may see it
        return await _form(
            request, actor, db, values, message=created.message, open_case=created.case_id, status=created.status
        )
    if not created.created and values["application_id"]:
        # A typed number that is already taken; a repeated draft number is a double submit and just opens it.
        errors = {"application_id": "该申请编号已受理过，请换一个编号或留空由系统生成"}
        values["existing"] = application.application_id
        return await _form(request, actor, db, values, errors=errors, status=409)
    await _wait_for_row(db, application.application_id)
    # The page after the form shows the case as the workflow moved it on (the data check requested), and says so.
    await settled(db, temporal, application.application_id, workflow_id_for(application.application_id))
    return RedirectResponse(f"/cases/{application.application_id}?done=accepted", status_code=303)


async def _accept(
    db: asyncpg.Pool, temporal: Client | None, actor: Actor, application: Application
) -> CaseCreated | ApiError:
    """The API's acceptance, or why it refused."""
    try:
        created, _ = await cases.accept(db, temporal, actor, application)
    except ApiError as exc:
        return exc
    except RPCError:
        return ApiError(503, "temporal_unavailable", "工作流服务暂不可用，请稍后再试")
    return created


async def _wait_for_row(db: asyncpg.Pool, case_id: str) -> None:
    loop = asyncio.get_running_loop()
    give_up = loop.time() + ROW_WAIT_SECONDS
    while loop.time() < give_up:
        if await cases_repo.case_exists(db, case_id):
            return
        await asyncio.sleep(0.1)


@router.post("/cases/new/check-id")
async def check_id(request: Request, actor: PageActor, db: Db, id_number: Annotated[str, Form()] = "") -> JSONResponse:
    """The server's own ID check while typing: POST so the number stays out of URLs and access logs. A valid
    number of a person in an open case is answered with a warning (for those who accept applications), a
    look-up the access log keeps as a household look-up."""
    try:
        value = validate_resident_id(id_number)
    except ValueError as exc:
        return JSONResponse({"ok": False, "value": id_number, "message": str(exc)})
    warning = await open_case_warning(db, actor, value) if authz.may(actor, "case.accept") else ""
    if warning:
        await access_log.household(request, actor, value)
    return JSONResponse({"ok": True, "value": value, "message": warning})


async def open_case_warning(db: asyncpg.Pool, actor: Actor, id_number: str) -> str:
    """受理提示: the person's open cases, named where the actor may read them (else only that one is open)."""
    parts = []
    for o in await applications_repo.open_of(db, [id_number]):
        label = AssistanceType(o.assistance_type).label
        seen = o.place is not None and authz.in_scope(actor, "case.read", o.place)
        parts.append(f"{label}申请（案件 {o.case_id}）" if seen else f"{label}申请（在其他乡镇（街道））")
    if not parts:
        return ""
    return "注意：该居民已有未办结的" + "、".join(parts) + "，同类申请不能重复受理"
