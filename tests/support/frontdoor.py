"""Helpers for front-door tests: a resident's request started straight on Temporal, bureau staff; and over
HTTP, the portal's forms, the resident who fills them in, bureau users and the referrals delivered."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from db import users_repo
from db.users_repo import DEMO_PASSWORD
from infra.config import TASK_QUEUE
from rules.frontdoor_actions import RequestAction
from schemas.frontdoor import (
    Channel,
    ComplaintNames,
    ComplaintStart,
    ComplaintState,
    FrontDoorRequest,
    IntakeNames,
    IntakeStart,
    IntakeState,
    ReferralNames,
    ReferralState,
    RequestKind,
    Triage,
    complaint_workflow_id,
    intake_workflow_id,
    referral_workflow_id,
)
from schemas.staff import Actor, Bureau, Role
from tests.support.actions import update_of
from tests.support.clients import SHIPO, SHIPO_VILLAGE, csrf_token
from tests.support.factories import actor, resident_id
from tests.support.workflows import query_until

PERSON = resident_id(date(1972, 4, 9), seq=121)  # the resident who applies on the portal


def bureau_staff(bureau: Bureau) -> Actor:
    return Actor(
        username=f"{bureau.value}_staff",
        full_name=f"{bureau.label} 工作人员",
        role=Role.BUREAU_STAFF,
        place_code="341503",
        bureau=bureau,
    )


async def submit(
    env: WorkflowEnvironment, no: str, kind: RequestKind, needs: list[str], id_number: str | None = None, **extra
) -> WorkflowHandle:
    request = FrontDoorRequest(
        **{
            "kind": kind,
            "needs": needs,
            "name": "周九",
            "id_number": id_number or resident_id(date(1958, 1, 9)),
            "phone": "13905641111",
            "township_code": "341503106",
            "village_code": "341503106202",
            "address": "示范村二 周家庄",
            "description": "老伴重病，孙子上学困难，家里收入很少",
        }
        | extra
    )
    return await env.client.start_workflow(
        IntakeNames.WORKFLOW,
        IntakeStart(request_no=no, request=request, channel=Channel.PORTAL),
        id=intake_workflow_id(no),
        task_queue=TASK_QUEUE,
        result_type=IntakeState,
        execution_timeout=timedelta(days=200),
    )


async def referred(
    env: WorkflowEnvironment, no: str, need: str = "medical_costs"
) -> tuple[WorkflowHandle, WorkflowHandle, ReferralState]:
    """A resident's request `no` for `need`, triaged by the township into a referral: the request's and the
    referral's workflows, and the referral's state once its limits are set."""
    h = await submit(env, no, RequestKind.HELP, [need])
    await query_until(h, IntakeNames.STATE, IntakeState, lambda s: s.answer_due is not None)
    await h.execute_update(update_of(RequestAction.TRIAGE), Triage(actor=actor("shipo_jingban"), needs=[need]))
    referral = env.client.get_workflow_handle(referral_workflow_id(f"ZJ-{no.removeprefix('12349-')}-{need}"))
    s = await query_until(referral, ReferralNames.STATE, ReferralState, lambda s: s.result_due is not None)
    return h, referral, s


def complaint(number: str, content: str, phone: str = "13905642222") -> ComplaintStart:
    """A complaint the desk took down for 石婆店镇, about no one in particular."""
    return ComplaintStart(
        complaint_no=number,
        request_no=None,
        complainant="赵六",
        phone=phone,
        township_code=SHIPO,
        about_case_id=None,
        about_person=None,
        content=content,
        unit_code=SHIPO,
    )


async def filed(env: WorkflowEnvironment, number: str, content: str) -> tuple[WorkflowHandle, ComplaintState]:
    """A complaint the desk took down (`complaint`), started: its workflow, and its state once its limits are set."""
    h = await env.client.start_workflow(
        ComplaintNames.WORKFLOW, complaint(number, content), id=complaint_workflow_id(number), task_queue=TASK_QUEUE
    )
    return h, await query_until(h, ComplaintNames.STATE, ComplaintState, lambda s: s.conclude_due is not None)


# ---- over HTTP ------------------------------------------------------------------------------------


async def add_bureau_user(pool: asyncpg.Pool, username: str, bureau: Bureau) -> None:
    async with pool.acquire() as conn:
        await users_repo.add_user(
            conn,
            username=username,
            full_name=f"{bureau.label} 工作人员",
            role=Role.BUREAU_STAFF,
            place_code="341503",
            password=DEMO_PASSWORD,
            bureau=bureau,
            demo=True,
        )


async def portal_post(c: httpx.AsyncClient, path: str, data: dict[str, Any]) -> httpx.Response:
    """Like a browser: load the form (which sets the CSRF cookie), then post it with its token."""
    form = await c.get(path)
    assert form.status_code == 200, form.text
    return await c.post(path, data={**data, "csrftoken": csrf_token(form.text)})


def resident(**extra: Any) -> dict[str, Any]:
    """The portal's application form filled in by PERSON."""
    return {
        "name": "周大勇",
        "id_number": PERSON,
        "phone": "13955641234",
        "township_code": SHIPO,
        "village_code": SHIPO_VILLAGE,
        "address": "示范村一 周家圩 5 号",
        "description": "妻子重病住院，孩子上高中学费困难，家里没有稳定收入",
    } | extra


async def apply_online(c: httpx.AsyncClient, needs: list[str], **extra: Any) -> tuple[str, str]:
    """Apply on the portal; returns (request number, receipt page)."""
    r = await portal_post(c, "/portal/apply", resident(**extra) | {"needs": needs})
    assert r.status_code == 303, r.text
    receipt = await c.get(r.headers["location"])
    assert receipt.status_code == 200
    number = re.search(r"12349-\d{8}-[0-9A-Z]{6}", receipt.text).group(0)
    return number, receipt.text


async def referrals_of(pool: asyncpg.Pool, request_no: str) -> dict[str, str]:
    """need -> referral id of the referrals delivered and given their deadlines."""
    rows = await pool.fetch(
        "select need, referral_id from referrals where request_no = $1 and adapter is not null "
        "and accept_due is not null",
        request_no,
    )
    return {r["need"]: r["referral_id"] for r in rows}


def bureau_signed(
    secret: str, path: str, body: bytes, *, timestamp: int | None = None, nonce: str | None = None
) -> dict[str, str]:
    """A bureau's system signing a POST to `path` as README "Bureau webhook" tells it to (written out here, not
    taken from schemas.webhook, so the tests hold the documented scheme): the headers to send."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(16)
    text = "\n".join(["POST", path, ts, nonce, hashlib.sha256(body).hexdigest()])
    mac = hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()
    return {"x-jiuzhu-timestamp": ts, "x-jiuzhu-nonce": nonce, "x-jiuzhu-signature": f"sha256={mac}"}
