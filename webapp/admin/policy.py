"""Policy versions: the list (the one in force today marked), one version in sections with what it changes
against the version in force, and a new version as a form in Chinese (webapp/admin/policy_form.py).

Versions are immutable because a case keeps the version it was accepted under; a change is a new
version with its own effective date. The new-version form starts from the version in force, numbered
after the highest one and dated after the latest, so only the changed numbers need typing.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from db import places_repo, policy_repo
from infra.clock import today
from schemas.policy import (
    LARGE_CHANGE,
    ApprovalLevel,
    Policy,
    effective_date_problem,
    large_standard_changes,
    zero_standards,
)
from webapp.admin.common import AdminActor, done, render_admin
from webapp.admin.policy_form import SECTIONS, diff, form_values, parse
from webapp.deps import Db
from webapp.errors import chinese_message, not_found
from webapp.field_labels import FIELD_LABELS

router = APIRouter(include_in_schema=False)

MAX_BODY = 200_000  # characters; the default policy is about 2,000
CONFIRM = "confirm_large_change"  # the form's box that lets a standard move by more than LARGE_CHANGE


def _implausible(policy: Policy, current: Policy | None, confirmed: bool, latest: dt.date | None) -> dict[str, str]:
    """What a new version may not store (form field → message): an effective date not to come or not after the latest
    version's; a standard not positive, or one that moves by more than `LARGE_CHANGE` against the version in force
    unless the administrator confirmed it."""
    found = {}
    if why := effective_date_problem(policy.effective_from, today(), latest):
        found["effective_from"] = why
    found |= {path: f"{FIELD_LABELS[path]}：应大于 0" for path in zero_standards(policy)}
    if current is not None and not confirmed:
        for path, before, after in large_standard_changes(current, policy):
            found.setdefault(
                path,
                f"{FIELD_LABELS[path]}由 {before:.2f} 元调整为 {after:.2f} 元，变动超过 {LARGE_CHANGE:.0%}；"
                f"请核对金额，确需调整的，请勾选“确认大幅调整标准”后重新提交",
            )
    return found


async def _in_force(conn: asyncpg.Connection, day: dt.date) -> Policy | None:
    try:
        return await policy_repo.in_force(conn, day)
    except LookupError:
        return None


@router.get("/admin/policy")
async def versions(request: Request, *, actor: AdminActor, db: Db) -> Response:
    day = today()
    async with db.acquire() as conn:
        rows = await policy_repo.list_versions(conn)
        current = await _in_force(conn, day)
    context = {"versions": list(reversed(rows)), "in_force": current and current.version, "today": day}
    return render_admin(request, "admin/policy.html", context, actor)


def _form_context(values: dict[str, str], based_on: Policy | None, **more: Any) -> dict[str, Any]:
    share = f"{LARGE_CHANGE:.0%}"
    return {
        "sections": SECTIONS,
        "values": values,
        "based_on": based_on and based_on.version,
        "large_change": share,
    } | more


@router.get("/admin/policy/new")
async def new_version(request: Request, *, actor: AdminActor, db: Db) -> Response:
    day = today()
    async with db.acquire() as conn:
        rows = await policy_repo.list_versions(conn)
        current = await _in_force(conn, day)
    number = max((r.version for r in rows), default=0) + 1
    starts = max([day, *(r.effective_from for r in rows)]) + dt.timedelta(days=1)
    draft = (current or Policy()).model_dump(mode="json") | {"version": number, "effective_from": starts.isoformat()}
    context = _form_context(form_values(draft), current, errors={}, problems=[])
    return render_admin(request, "admin/policy_new.html", context, actor)


def _parse(text: str) -> tuple[Policy | None, list[str]]:
    """A version pasted as JSON (scripts, and the form's former shape): the Policy, or the problems in
    Chinese (JSON syntax first, then each field by its Chinese name)."""
    if len(text) > MAX_BODY:
        return None, [f"内容过长（最多 {MAX_BODY} 个字符）"]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        return None, [f"JSON 格式错误：第 {e.lineno} 行第 {e.colno} 列附近"]
    try:
        return Policy.model_validate(data), []
    except ValidationError as e:
        return None, [chinese_message(err) for err in e.errors()]


@router.post("/admin/policy")
async def add_version(request: Request, *, actor: AdminActor, db: Db) -> Response:
    """The form's fields (or a whole version as JSON in `body`); `step=preview` shows what the version
    changes against the one in force and stores nothing."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    async with db.acquire() as conn:
        current = await _in_force(conn, today())
        latest = await policy_repo.latest_effective_from(conn)
    if "body" in form:
        policy, problems = _parse(form["body"])
        values, errors = (form_values(policy) if policy else {}), {}
    else:
        parsed = parse(form)
        policy, problems, errors, values = parsed.policy, parsed.problems, parsed.errors, form
    if policy is not None and (implausible := _implausible(policy, current, form.get(CONFIRM) == "true", latest)):
        problems, errors = list(implausible.values()), errors | implausible
        policy, values = None, values or form_values(policy)
    if policy is not None and form.get("step") != "preview":
        async with db.acquire() as conn:
            try:
                await policy_repo.add(conn, policy, actor.username)
            except policy_repo.PolicyError as e:
                problems = [str(e)]
            else:
                date = policy.effective_from.isoformat()
                return done(
                    request, f"/admin/policy/{policy.version}", "policy_added", version=policy.version, date=date
                )
    changes = diff(current, policy) if policy is not None else None
    context = _form_context(values or form_values(current or Policy()), current, errors=errors, problems=problems)
    context |= {"changes": changes, "pasted": form.get("body")}
    return render_admin(request, "admin/policy_new.html", context, actor, status=200 if not problems else 422)


async def _approval_by_level(conn: asyncpg.Connection, policy: Policy) -> dict[ApprovalLevel, list[str]]:
    """The townships (names, in code order) whose cases the version has approved by each level."""
    towns = await places_repo.places_at_level(conn, "township")
    return {
        level: [t["name"] for t in towns if policy.review.approval_level(t["code"]) is level] for level in ApprovalLevel
    }


@router.get("/admin/policy/{version}")
async def show_version(request: Request, version: int, *, actor: AdminActor, db: Db) -> Response:
    day = today()
    async with db.acquire() as conn:
        row = await policy_repo.get_version(conn, version)
        if row is None:
            raise not_found(f"政策参数第 {version} 版不存在")
        policy = await policy_repo.get(conn, version)
        current = await _in_force(conn, day)
        approval = await _approval_by_level(conn, policy)
    context = {"v": row, "in_force": current and current.version, "today": day, "approval": approval}
    context |= {"levels": ApprovalLevel, "sections": SECTIONS, "values": form_values(policy)}
    context["changes"] = diff(current, policy) if current and current.version != version else None
    return render_admin(request, "admin/policy_view.html", context, actor)
