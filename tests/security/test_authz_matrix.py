"""The authorisation matrix: every route of the app (read from `app.routes`) has a rule in `RULES`, and
every rule is checked against every role, anonymously, and across townships, for an exact answer: the
status, and the JSON `code` of an API error, the `location` of a redirect or the message of a page.

A route added without a rule fails `test_every_route_has_a_rule`; a rule whose route is gone fails it too.

For each route the rule names
- `allowed`: the roles that get through, as the app's own authorisation table says (`webapp.authz.who`),
  and `ok`, what they get (200 for a read unless stated; every write states its answer). Rows are seeded
  with SQL (tests/security/conftest.py), without a workflow behind them, so the actions on them are
  answered "closed" (409 `case_closed` / `closed`) by the call to the workflow, past every check of the
  HTTP layer; some forms are sent empty on purpose (422 with the form's own message). Those answers prove
  the role got through, not that the action works: `test_allowed_roles_succeed_on_live_rows` takes one
  action of each family on rows with a running workflow and gets its success (2xx, or the page's redirect);
- `later`: roles the HTTP layer lets through to a check further in (the workflow's update validator, which
  checks the role per stage, or the request's own validation), and `later_ok`, what they get here. That the
  workflows refuse them with 403 `wrong_role` is `test_allowed_roles_succeed_on_live_rows` and
  tests/security/test_jurisdiction.py;
- every other role gets 403 (`wrong_role` from the API); anonymous callers 401 `unauthenticated` (API) or a
  redirect to the log-in page that brings them back;
- `scoped`: the path (or body) names a row of 石婆店镇; the same roles in 顺河镇 (and another bureau) get
  `foreign` (403 `out_of_jurisdiction`, `wrong_bureau` for another bureau, unless stated).

A real worker on Temporal's time-skipping server answers whatever the routes start or update.

By place (a second village of the township, another township, a second district), on rows made through the API
with running workflows, every allowed call done and its effect read back: tests/security/test_authz_matrix_*.py.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from fastapi import routing
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from db.users_repo import DEMO_PASSWORD
from infra.codec import key_ring
from infra.config import Settings
from schemas.review import workflow_id_for
from schemas.staff import Role
from tests.security.conftest import (
    FOREIGN_USERS,
    HOME_USERS,
    SECRET,
    SHIPO,
    SHIPO_VILLAGE,
    WEBHOOK_SECRET,
    Seeds,
    World,
)
from tests.support.clock import beijing, on_day
from tests.support.factories import application, resident_id
from tests.support.frontdoor import bureau_signed
from webapp.app import create_app
from webapp.authz import ALL_ROLES as ALL
from webapp.authz import AP, BU, CW, OFF, SUP, VC, A, who

# 00:30 in Beijing on 12-04 is 16:30 UTC on 12-03: a date from the machine's clock would be a day behind the
# workflows'. The seed rows and every date in a request body are taken from this instant.
START = beijing(2026, 12, 4, 0, 30)
TODAY = on_day(START).isoformat()
pytestmark = pytest.mark.start_at(START)

PUBLIC = "public"
SIGNED = "signed"  # no log-in: an HMAC signature with the bureau's webhook secret

Body = dict[str, Any] | Callable[[str, Seeds], dict[str, Any]] | None


# What a call must get, exactly: a status, or a status and what tells the answer apart: the JSON `code` of an
# API error (always required), the `location` of a redirect (a pattern where it holds a generated number),
# or a text the page shows.
Want = int | tuple[int, "str | re.Pattern[str]"]
Wants = Want | Mapping[Role, Want]

WRONG_ROLE: Want = (403, "wrong_role")
ELSEWHERE: Want = (403, "out_of_jurisdiction")
CASE_CLOSED: Want = (409, "case_closed")  # the seeded case has no review workflow behind it
CLOSED: Want = (409, "closed")  # nor the seeded emergency, request, referral and complaint
PAGE_CLOSED: Want = (409, "已办结，不能再操作")
NO_WORKFLOW_PAGE: Want = (409, "暂时无法查询工作流")


@dataclass(frozen=True)
class Rule:
    allowed: frozenset[Role] | str
    later: frozenset[Role] = frozenset()
    scoped: bool = False
    json: Body = None
    form: Body = None
    params: dict[str, str] = field(default_factory=dict)
    csrf: bool = False  # a public form asgi-csrf protects even without cookies: fetch a token first
    by_bureau: bool = False  # the row belongs to one bureau: staff of another bureau must be refused too
    note: str = ""
    ok: Wants | None = None  # the allowed roles' (or, public, anyone's) answer; None: 200, for reads only
    later_ok: Wants | None = None  # the `later` roles' answer
    foreign: Wants | None = None  # the 顺河镇 roles' answer, where not 403 out_of_jurisdiction / wrong_bureau


def staff(allowed: frozenset[Role], **kw: Any) -> Rule:
    return Rule(allowed=allowed, **kw)


def reaching_workflow(later: frozenset[Role], answer: Want) -> dict[Role, Want]:
    """The `later` roles of an action reach the call to the workflow, which is not there (`answer`)."""
    return dict.fromkeys(later, answer)


# ---- request bodies ------------------------------------------------------------------------------------

DISCOVERY_OUTCOME = {"outcome": "declined", "visited_on": "2026-11-20", "note": "本人拒绝"}


def _discovery_list(user: str, s: Seeds) -> dict[str, Any]:
    """One person Jiuzhu does not know, without a township: counted, no task."""
    import base64

    csv = f"身份证号,姓名,信号类别,信号日期\n{resident_id(date(1990, 1, 1), seq=1)},某某,失业,2026-11-20\n"
    return {"filename": "matrix.csv", "content_base64": base64.b64encode(csv.encode()).decode()}


_new_ids = iter(range(1, 10_000))


def _application(user: str, s: Seeds) -> dict[str, Any]:
    return application(f"SEC-NEW-{next(_new_ids):04d}").model_dump(mode="json")


def _emergency(user: str, s: Seeds) -> dict[str, Any]:
    """A person of their own for each registration: a second one for a person with an open event answers it (200)."""
    return {
        "kind": "fire",
        "description": "夜间房屋失火，财物烧毁",
        "household": {
            "name": "赵六",
            "id_number": resident_id(date(1975, 6, 1), seq=610 + next(_new_ids) % 300),
            "township_code": SHIPO,
            "village_code": SHIPO_VILLAGE,
            "address": "示范村一 赵家湾 3 号",
            "members": 4,
        },
    }


def _emergency_form(user: str, s: Seeds) -> dict[str, Any]:
    body = _emergency(user, s)
    return {"kind": body["kind"], "description": body["description"]} | {
        k: str(v) for k, v in body["household"].items() if k != "township_code"
    }


def _frontdoor(user: str, s: Seeds) -> dict[str, Any]:
    return {
        "kind": "help",
        "needs": ["medical_costs"],
        "name": "钱七",
        "id_number": resident_id(date(1966, 8, 8), seq=808),
        "phone": "13956405555",
        "township_code": SHIPO,
        "village_code": SHIPO_VILLAGE,
        "address": "示范村一 钱家 1 号",
        "description": "看病负担重，需要帮助",
    }


def _person(user: str, s: Seeds) -> dict[str, Any]:
    return {"id_number": s.person_id}


def _sealed_payload(user: str, s: Seeds) -> dict[str, Any]:
    """A payload of the seeded 石婆店镇 case's workflow, as Temporal holds it (encrypted), in protobuf JSON."""
    sealed = key_ring(Settings()).encrypt(Payload(data=b'"\u738b"'), workflow_id_for(s.case))
    return jsonlib.loads(json_format.MessageToJson(Payloads(payloads=[sealed])))


def _complaint(user: str, s: Seeds) -> dict[str, Any]:
    return {"complainant": "孙八", "phone": "13956406666", "township_code": SHIPO, "content": "村里评议不公"}


def _on_acceptance(s: Seeds) -> str:
    """A date the workflow takes for a visit, an interview or a hearing: between the case's acceptance and
    today, in Beijing time (the seeded case was accepted 40 days before the test's instant)."""
    return on_day(s.accepted_at).isoformat()


def _home_visit(user: str, s: Seeds) -> dict[str, Any]:
    """The user and a colleague investigate; a village cadre assists two caseworkers."""
    team = {"investigators": sorted({user, "shipo_diaocha"}) if user != "shipo_diaocha" else ["shipo_diaocha", user]}
    if user == HOME_USERS[Role.VILLAGE_CADRE]:
        team = {"investigators": ["shipo_diaocha", "shipo_jingban"], "assistants": [user]}
    return {
        "visited_on": _on_acceptance(s),
        **team,
        "family_signatures": ["王大山"],
        "findings": "房屋老旧，家中无大件电器",
    }


REVIEW_BODIES: dict[str, Body] = {
    "missing_materials": {"items": ["户口簿"]},
    "materials_supplied": {},
    "verification_result": {"verified_monthly_income": "600.00", "assets_within_limits": True, "findings": "无异常"},
    "home_visit": _home_visit,
    "neighbour_interview": lambda u, s: {
        "interviewed_on": _on_acceptance(s),
        "interviewees": ["邻居张三", "邻居李四"],
        "findings": "邻居反映家庭确实困难",
    },
    "hearing": lambda u, s: {
        "held_on": _on_acceptance(s),
        "participants": ["村民代表甲", "村民代表乙", "村委会主任"],
        "opinion": "agree",
        "summary": "一致同意",
    },
    "decision": {"approve": True, "category": "B"},
    "objection": {"objector": "村民甲", "content": "申请人家有轿车"},
    "take_over": {"reason": "超期未办，区级接管"},
    "extend_deadline": {"reasons": "需异地协查收入，延长法定时限"},
    "refusal_delivered": lambda u, s: {
        "method": "in_person",
        "delivered_on": _on_acceptance(s),
        "recipient": "申请人本人",
    },
    "withdraw": lambda u, s: {"statement_signed_on": _on_acceptance(s), "statement_ref": "CH-2026-001"},
    "terminate": {"reasons": "申请人已迁出本区"},
}
# Who may take each action: the workflow's rule (rules.stages.ACTION_ROLES), past the HTTP layer's `case.act`;
# a district officer acts for a township once the district has taken the case over, and decides where the
# district approves.
REVIEW_ROLES: dict[str, frozenset[Role]] = {
    "missing_materials": frozenset({CW, AP, OFF}),
    "materials_supplied": frozenset({CW, AP, OFF}),
    "verification_result": frozenset({OFF}),
    "home_visit": frozenset({CW, VC, OFF}),
    "neighbour_interview": frozenset({CW, VC, OFF}),
    "hearing": frozenset({CW, AP, VC, OFF}),
    "decision": frozenset({AP, OFF}),
    "objection": frozenset({CW, AP, VC, OFF}),
    "take_over": frozenset({OFF}),
    "extend_deadline": frozenset({OFF}),
    "refusal_delivered": frozenset({CW, AP, VC, OFF}),
    "withdraw": frozenset({CW, OFF}),
    "terminate": frozenset({AP, OFF}),
}


def review_action(action: str) -> Rule:
    """The API lets `case.act` through (supervisors, bureaus and the administrator are refused); the workflow
    decides by role."""
    roles = REVIEW_ROLES[action]
    later = who("case.act") - roles
    return staff(
        roles,
        later=later,
        scoped=True,
        json=REVIEW_BODIES[action],
        ok=CASE_CLOSED,
        later_ok=reaching_workflow(later, CASE_CLOSED),
    )


def namesake_rule(*, ok: Want, **body: Any) -> Rule:
    """A namesake warning is settled by a caseworker or district officer (the workflow's rule,
    rules.recusal.NAMESAKE_RESOLVERS), past the HTTP layer's `case.act`."""
    roles = frozenset({CW, OFF})
    later = who("case.act") - roles
    return staff(
        roles,
        later=later,
        scoped=True,
        params={"username": "shipo_diaocha"},
        ok=ok,
        later_ok=reaching_workflow(later, ok),
        **body,
    )


EMERGENCY_BODIES: dict[str, Body] = {
    "approve": {"tier": "village", "amount": "500.00"},
    "escalate": {"reason": "超出村级封顶，申报乡镇"},
    "documents": {"items": ["病历", "费用清单"]},
    "exempt": {"decision_no": "裕民救〔2026〕1号", "reason": "原始票据无法取得"},
    "close": {"summary": "已救助，材料齐全"},
    "approve_repeat": {"note": "同意再次救助"},
    "resolve_namesake": {"username": "shipo_diaocha", "same_person": False},
}
# Who may take each action: the workflow's rule (rules.emergency_actions), past the HTTP layer's `emergency.act`.
EMERGENCY_ROLES = {
    "approve": frozenset({VC, AP, OFF}),  # each tier its own payer
    "escalate": frozenset({VC, CW, AP, OFF}),
    "documents": frozenset({VC, CW, AP, OFF}),
    "exempt": frozenset({OFF}),  # a district officer's written decision
    "close": frozenset({VC, CW, AP, OFF}),
    "approve_repeat": frozenset({AP}),  # the township approves a repeat within the period
    "resolve_namesake": frozenset({CW, OFF}),  # as in the review (rules.recusal.NAMESAKE_RESOLVERS)
}


def emergency_action(action: str, *, page: bool = False) -> Rule:
    roles = EMERGENCY_ROLES[action]
    later = who("emergency.act") - roles
    body = EMERGENCY_BODIES[action]
    if page:
        form = {k: "、".join(v) if isinstance(v, list) else v for k, v in body.items()}
        closed: Want = (409, "该急难事件已办结")
        return staff(
            roles,
            later=later,
            scoped=True,
            form=form,
            params={"action": action},
            ok=closed,
            later_ok=reaching_workflow(later, closed),
        )
    return staff(roles, later=later, scoped=True, json=body, ok=CLOSED, later_ok=reaching_workflow(later, CLOSED))


INTAKE_BODIES = {
    "triage": {"needs": ["medical_costs"]},
    "link-case": lambda u, s: {"need": "low_income", "case_id": s.case},
    "answer": {"text": "您好，已为您登记，请等待答复"},
}


def intake_action(action: str, *, page: bool = False) -> Rule:
    """Bureau staff never read requests; triage, linking and answers are the desk's (the workflow says)."""
    body = INTAKE_BODIES[action]
    kw: dict[str, Any] = {"form": body, "params": {"action": action}} if page else {"json": body}
    # link-case names a need the seeded request was not triaged for: refused before any check of the role.
    answer = PAGE_CLOSED if page else (422, "invalid") if action == "link-case" else CLOSED
    desk = who("request.handle")
    return staff(desk, later=who("request.read") - desk, scoped=True, ok=answer, later_ok=answer, **kw)


REFERRAL_BODIES = {
    "accept": {},
    "request-info": {"question": "请补充近三个月的病历"},
    "supply-info": {"info": "已补充病历"},
    "result": {"outcome": "helped", "help_given": "已按规定报销医疗费用", "amount": "800.00"},
}


def referral_action(action: str, *, page: bool = False) -> Rule:
    """Village cadres never see referrals; the bureau answers, the desk supplies information."""
    roles = who("referral.supply" if action == "supply-info" else "referral.answer")
    body = REFERRAL_BODIES[action]
    kw: dict[str, Any] = {"form": body, "params": {"action": action}} if page else {"json": body}
    answer = PAGE_CLOSED if page else CLOSED  # the referral workflow checks roles and bureaus itself
    later = who("referral.read") - roles
    return staff(roles, later=later, scoped=True, by_bureau=True, ok=answer, later_ok=answer, **kw)


COMPLAINT_BODIES = {"accept": {}, "conclude": {"finding": "unsubstantiated", "reply": "经核查，评议程序合规"}}


def complaint_action(action: str, *, page: bool = False) -> Rule:
    """Complaints are for township and district staff; village cadres and bureaus never see them."""
    body = COMPLAINT_BODIES[action]
    kw: dict[str, Any] = {"form": body, "params": {"action": action}} if page else {"json": body}
    answer = PAGE_CLOSED if page else CLOSED
    handlers = who("complaint.handle")
    return staff(handlers, later=who("complaint.read") - handlers, scoped=True, ok=answer, later_ok=answer, **kw)


LOGIN = {"username": "matrix_target", "password": DEMO_PASSWORD}
DOCUMENTS = {"owner_kind": "case", "owner_id": Seeds.case}  # the 石婆店镇 case's documents
DOCUMENT = {"document_id": Seeds.document}
FUND_INCOME = {"amount": "1000.00", "source": "government"}
ADMIN = who("admin")

FORM_ERRORS: Want = (422, "请修改标红的内容。")  # a public form sent empty

RULES: dict[tuple[str, str], Rule] = {
    # ---- framework, health ----
    ("GET", "/openapi.json"): Rule(PUBLIC, note="the API's description; no data"),
    ("GET", "/docs"): Rule(PUBLIC),
    ("GET", "/docs/oauth2-redirect"): Rule(PUBLIC),
    ("GET", "/redoc"): Rule(PUBLIC),
    ("GET", "/healthz"): Rule(PUBLIC),
    ("GET", "/favicon.ico"): Rule(PUBLIC, note="the app's icon; no data"),
    ("GET", "/readyz"): Rule(PUBLIC, note="database and Temporal up or not; no data"),
    ("GET", "/metrics"): Rule(
        PUBLIC, note="labels are route templates; JIUZHU_METRICS_TOKEN closes it (webapp/ops.py)"
    ),
    ("GET", "/static"): Rule(PUBLIC, params={"path": "css/app.css"}),
    # ---- log-in (webapp/account/) ----
    ("POST", "/api/auth/login"): Rule(PUBLIC, json=LOGIN),
    ("POST", "/api/auth/logout"): Rule(PUBLIC, ok=204),
    ("GET", "/api/me"): staff(who("account")),
    # ---- cases (webapp/review/) ----
    ("POST", "/api/cases"): staff(who("case.accept"), scoped=True, json=_application, ok=202),
    ("GET", "/api/cases"): staff(who("case.read")),
    ("GET", "/api/cases/{case_id}"): staff(who("case.read"), scoped=True),
    ("GET", "/api/verification-requests"): staff(who("case.read")),
    ("POST", "/api/calendar/changed"): staff(who("calendar.announce"), ok=200),
    **{("POST", f"/api/cases/{{case_id}}/actions/{a}"): review_action(a) for a in REVIEW_ROLES},
    # ---- emergency aid (webapp/emergency/) ----
    ("POST", "/api/emergencies"): staff(who("emergency.register"), scoped=True, json=_emergency, ok=201),
    ("GET", "/api/emergencies"): staff(who("emergency.read")),
    ("GET", "/api/emergencies/{event_id}"): staff(who("emergency.read"), scoped=True),
    **{("POST", f"/api/emergencies/{{event_id}}/actions/{a}"): emergency_action(a) for a in EMERGENCY_ROLES},
    ("GET", "/api/funds/{place_code}"): staff(
        who("fund.read"), scoped=True, note="the village fund of 石婆店镇示范村一"
    ),
    ("POST", "/api/funds/{place_code}/income"): staff(
        who("fund.income.village"), scoped=True, json=FUND_INCOME, ok=201
    ),
    # ---- 12349 front door (webapp/frontdoor/, webapp/household/) ----
    ("POST", "/api/frontdoor/requests"): staff(who("request.register"), scoped=True, json=_frontdoor, ok=201),
    ("GET", "/api/frontdoor/requests"): staff(who("request.read")),
    ("GET", "/api/frontdoor/requests/{request_no}"): staff(who("request.read"), scoped=True),
    ("POST", "/api/frontdoor/requests/{request_no}/triage"): intake_action("triage"),
    ("POST", "/api/frontdoor/requests/{request_no}/link-case"): intake_action("link-case"),
    ("POST", "/api/frontdoor/requests/{request_no}/answer"): intake_action("answer"),
    # the seeded request was taken down by staff: verified at entry, so the allowed roles get past every check
    ("POST", "/api/frontdoor/requests/{request_no}/verify-identity"): staff(
        who("request.verify_identity"), scoped=True, json={"note": "已电话回访本人确认"}, ok=(409, "already_verified")
    ),
    ("GET", "/api/referrals"): staff(who("referral.read")),
    ("GET", "/api/referrals/{referral_id}"): staff(who("referral.read"), scoped=True, by_bureau=True),
    **{("POST", f"/api/referrals/{{referral_id}}/{a}"): referral_action(a) for a in REFERRAL_BODIES},
    ("POST", "/api/referrals/{referral_id}/callback"): Rule(SIGNED, ok=CLOSED),
    ("POST", "/api/complaints"): staff(who("complaint.register"), scoped=True, json=_complaint, ok=201),
    ("GET", "/api/complaints"): staff(who("complaint.read")),
    ("GET", "/api/complaints/{complaint_no}"): staff(who("complaint.read"), scoped=True),
    **{("POST", f"/api/complaints/{{complaint_no}}/{a}"): complaint_action(a) for a in COMPLAINT_BODIES},
    ("GET", "/api/frontdoor/overview"): staff(who("frontdoor.overview")),
    ("POST", "/api/households/lookup"): staff(who("household.view"), json=_person, ok=200),
    # ---- documents (webapp/documents/): read as their case is; uploaded by those who act on it ----
    ("GET", "/api/documents/{owner_kind}/{owner_id}"): staff(who("case.read"), scoped=True, params=DOCUMENTS),
    ("GET", "/api/documents/{document_id}/content"): staff(who("case.read"), scoped=True, params=DOCUMENT),
    ("GET", "/api/documents/{document_id}/thumbnail"): staff(who("case.read"), scoped=True, params=DOCUMENT),
    ("POST", "/api/documents/{owner_kind}/{owner_id}"): staff(
        who("document.upload"), scoped=True, params=DOCUMENTS, ok=(422, "invalid_type"), note="sent without files"
    ),
    # ---- the Temporal Web UI's codec server (webapp/codec/api.py): the seeded case's workflow payload ----
    ("POST", "/api/codec/decode"): staff(who("workflow.decode"), scoped=True, json=_sealed_payload, ok=200),
    ("POST", "/api/codec/encode"): staff(who("workflow.decode"), json={"payloads": []}, ok=200),
    **{
        ("POST", f"/api/ongoing-reviews/{{case_id}}/actions/{a}"): staff(
            who("reviews.record"),
            scoped=True,
            json=body,
            ok=(404, "not_found"),
            foreign=(404, "not_found"),
            note="404: no recipient seeded",
        )
        for a, body in (("propose", {"outcome": "continue", "findings": "情况未变"}), ("decide", {"agree": True}))
    },
    # ---- pages: log-in, account (webapp/account/pages.py, webapp/admin/relatives.py) ----
    ("GET", "/"): staff(
        who("account"),
        ok={
            A: (303, "/admin"),
            BU: (303, "/bureau"),
            SUP: (303, "/dashboard"),
            **{role: (303, "/inbox") for role in (OFF, CW, AP, VC)},
        },
        note="each role's home",
    ),
    ("GET", "/login"): Rule(PUBLIC),
    ("POST", "/login"): Rule(PUBLIC, form=LOGIN, csrf=True, ok=(303, "/inbox")),
    ("POST", "/logout"): Rule(PUBLIC, ok=(303, "/login")),
    ("GET", "/account"): staff(who("account")),
    ("POST", "/account/password"): staff(
        who("account"), form={"current": "wrong", "new": "x", "confirm": "y"}, ok=(422, "当前密码不正确。")
    ),
    ("GET", "/account/new-password"): staff(
        who("account"), ok=(303, "/account"), note="only after a log-in with a one-time code"
    ),
    ("POST", "/account/new-password"): staff(
        who("account"), form={"new": "x", "confirm": "x"}, ok=(303, "/account"), note="as the form"
    ),
    ("POST", "/lang"): Rule(PUBLIC, form={"locale": "zh_CN"}, ok=(303, "/")),
    ("GET", "/account/relatives"): staff(who("account")),
    ("POST", "/account/relatives"): staff(
        who("account"), form={"name": "", "id_number": "", "relation": ""}, ok=(422, "亲属姓名不能为空")
    ),
    ("POST", "/account/relatives/{relative_id}/delete"): staff(
        who("account"),
        ok={role: (303, "/account/relatives") if role is CW else (404, "该备案记录不存在") for role in ALL},
        note="only one's own entries: the caseworker's (404 for everyone else)",
    ),
    # ---- caseworker pages ----
    ("GET", "/cases/new"): staff(who("case.accept")),
    ("POST", "/cases/new"): staff(who("case.accept"), form={}, ok=(422, "申请信息有误，请按提示修改")),
    ("POST", "/cases/new/check-id"): staff(
        who("account"), form={"id_number": "x"}, ok=200, note="format check only, reads nothing"
    ),
    ("GET", "/inbox"): staff(who("case.inbox")),
    ("GET", "/cases/{case_id}"): staff(who("case.read"), scoped=True),
    ("POST", "/api/cases/{case_id}/namesakes/{username}"): namesake_rule(json={"same_person": True}, ok=CASE_CLOSED),
    ("POST", "/cases/{case_id}/namesakes/{username}"): namesake_rule(form={"same_person": "yes"}, ok=NO_WORKFLOW_PAGE),
    ("POST", "/cases/{case_id}/act/{action}"): staff(
        REVIEW_ROLES["missing_materials"],
        later=who("case.act") - REVIEW_ROLES["missing_materials"],
        scoped=True,
        form={"items": "户口簿"},
        params={"action": "missing_materials"},
        ok=NO_WORKFLOW_PAGE,
        later_ok=reaching_workflow(who("case.act") - REVIEW_ROLES["missing_materials"], NO_WORKFLOW_PAGE),
    ),
    # ---- supervisor pages ----
    ("GET", "/cases"): staff(who("case.read")),
    ("POST", "/cases"): staff(
        who("case.read"), form={"q": "张", "type": "dibao"}, ok=(303, "/cases?type=dibao&q=%E5%BC%A0")
    ),
    ("GET", "/cases/export.{suffix}"): staff(who("case.read"), params={"suffix": "csv"}),
    ("GET", "/dashboard"): staff(who("dashboard.view")),
    ("GET", "/dashboard/rollout"): staff(who("rollout.view")),
    ("POST", "/dashboard/rollout/switch"): staff(
        who("rollout.switch"),
        form={"township": SHIPO, "level": "township", "effective_from": "not-a-date"},
        ok=(303, f"/dashboard/rollout?township={SHIPO}&error=" + quote("日期或审批层级无效")),
    ),
    ("GET", "/overdue"): staff(who("overdue.view")),
    ("POST", "/overdue/{case_id}/take-over"): staff(
        who("overdue.view") & who("case.act"),
        form={"reason": "超期未办，区级接管"},
        ok=(409, "未能接管： 案件已办结，不能再操作"),
    ),
    ("GET", "/cases/{case_id}/approval.pdf"): staff(who("case.read"), scoped=True),
    # the seeded case is not in public notice
    ("GET", "/cases/{case_id}/notice"): staff(
        who("case.read"), scoped=True, ok=(409, "该案件不在公示期，没有可打印的公示")
    ),
    # ---- admin pages: the administrator only ----
    ("GET", "/admin"): staff(ADMIN),
    ("GET", "/admin/users"): staff(ADMIN),
    ("GET", "/admin/users/new"): staff(ADMIN),
    ("GET", "/admin/users/place-field"): staff(ADMIN),
    ("POST", "/admin/users"): staff(ADMIN, form={}, ok=(422, "请选择角色")),
    ("GET", "/admin/users/{username}/edit"): staff(ADMIN),
    ("POST", "/admin/users/{username}/edit"): staff(ADMIN, form={}, ok=(422, "请选择角色")),
    ("POST", "/admin/users/{username}/password"): staff(
        ADMIN,
        params={"username": "gulou_diaocha"},
        ok=(200, "gulou_diaocha 的一次性登录码"),
        note="a one-time code replaces the password: of a user the matrix does not log in as",
    ),
    ("POST", "/admin/users/{username}/sessions/end"): staff(
        ADMIN, ok=(303, "/admin/users/matrix_target/edit"), note="ends matrix_target's sessions, no one else's"
    ),
    ("GET", "/admin/relatives"): staff(ADMIN),
    ("GET", "/admin/relatives/{username}"): staff(ADMIN),
    ("POST", "/admin/relatives/{username}"): staff(ADMIN, form={}, ok=(422, "亲属姓名不能为空")),
    ("POST", "/admin/relatives/{username}/{relative_id}/delete"): staff(
        ADMIN, ok=(303, "/admin/relatives/matrix_target")
    ),
    ("GET", "/admin/places"): staff(ADMIN),
    ("GET", "/admin/places/{code}/edit"): staff(ADMIN),
    ("POST", "/admin/places/{code}/edit"): staff(ADMIN, form={}, ok=(422, "名称不能为空")),
    ("GET", "/admin/places/{code}/villages/new"): staff(ADMIN),
    ("POST", "/admin/places/{code}/villages"): staff(ADMIN, form={}, ok=(422, "名称不能为空")),
    ("GET", "/admin/calendar"): staff(ADMIN),
    ("GET", "/admin/calendar/sample.{fmt}"): staff(ADMIN, params={"fmt": "csv"}),
    ("POST", "/admin/calendar/import"): staff(ADMIN, form={}, ok=(422, "请选择通知文件，或粘贴通知内容")),
    ("POST", "/admin/calendar/announce"): staff(ADMIN, ok=(303, "/admin/calendar")),
    ("GET", "/admin/policy"): staff(ADMIN),
    ("GET", "/admin/policy/new"): staff(ADMIN),
    ("POST", "/admin/policy"): staff(ADMIN, form={"body": "{}"}, ok=(422, "生效日期须晚于今天")),
    ("GET", "/admin/policy/{version}"): staff(ADMIN),
    ("GET", "/admin/roster"): staff(ADMIN),
    ("POST", "/admin/roster"): staff(ADMIN, form={}, ok=(422, "请选择名册文件（.xlsx 或 .csv）")),
    ("GET", "/admin/roster/errors/{check_id}.xlsx"): staff(
        ADMIN,
        params={"check_id": "matrix-check-00000000"},
        ok=(404, "错误清单不存在或已过期，请重新试导入"),
        note="404: no dry run kept an error sheet under that id",
    ),
    ("GET", "/admin/roster/template.xlsx"): staff(ADMIN),
    # ---- emergency pages ----
    ("GET", "/emergencies"): staff(who("emergency.read")),
    ("GET", "/emergencies/new"): staff(who("emergency.register")),
    ("POST", "/emergencies/new"): staff(
        who("emergency.register"),
        scoped=True,
        form=_emergency_form,
        ok=(303, re.compile(rf"/emergencies/JJN-{SHIPO_VILLAGE}-\d{{20}}\?done=registered")),
    ),
    ("GET", "/emergencies/{event_id}"): staff(who("emergency.read"), scoped=True),
    ("POST", "/emergencies/{event_id}/{action}"): emergency_action("close", page=True),
    ("GET", "/funds/{place_code}"): staff(who("fund.read"), scoped=True),
    ("GET", "/funds/{place_code}/export.csv"): staff(who("fund.read"), scoped=True),
    ("POST", "/funds/{place_code}"): staff(
        who("fund.income.village"),
        scoped=True,
        form={"amount": "10", "source": "government"},
        ok=(303, f"/funds/{SHIPO_VILLAGE}"),
    ),
    # ---- the public 12349 portal: no log-in (webapp/portal/) ----
    ("GET", "/portal"): Rule(PUBLIC),
    ("GET", "/portal/villages"): Rule(PUBLIC),
    ("GET", "/portal/apply"): Rule(PUBLIC),
    ("POST", "/portal/apply"): Rule(PUBLIC, form={}, csrf=True, ok=FORM_ERRORS),
    ("GET", "/portal/ask"): Rule(PUBLIC),
    ("POST", "/portal/ask"): Rule(PUBLIC, form={}, csrf=True, ok=FORM_ERRORS),
    ("GET", "/portal/complain"): Rule(PUBLIC),
    ("POST", "/portal/complain"): Rule(PUBLIC, form={}, csrf=True, ok=FORM_ERRORS),
    ("GET", "/portal/done"): Rule(PUBLIC, ok=(303, "/portal"), note="nothing done: back to the portal"),
    ("GET", "/portal/status"): Rule(PUBLIC),
    ("GET", "/portal/notices"): Rule(PUBLIC),
    ("POST", "/portal/status"): Rule(PUBLIC, form={}, csrf=True, ok=(422, "编号格式如 12349-20261201-AB12CD")),
    # ---- discovery (webapp/discovery/) ----
    ("POST", "/api/discovery/lists"): staff(who("discovery.upload"), json=_discovery_list, ok=201),
    ("POST", "/api/discovery/bureaus/{bureau}/lists"): Rule(
        SIGNED, params={"bureau": "medical"}, ok=(422, "invalid"), note="signed; the matrix's body is not a list"
    ),
    ("GET", "/api/discovery/tasks"): staff(who("discovery.read")),
    ("GET", "/api/discovery/tasks/{task_id}"): staff(who("discovery.read"), scoped=True),
    ("POST", "/api/discovery/tasks/{task_id}/outcome"): staff(
        who("discovery.act"), scoped=True, json=DISCOVERY_OUTCOME, ok=CLOSED
    ),
    ("GET", "/api/discovery/coverage"): staff(who("discovery.coverage")),
    ("GET", "/bureau/discovery"): staff(who("discovery.upload")),
    ("POST", "/bureau/discovery"): staff(
        who("discovery.upload"), form={}, ok=(422, "名单文件：请选择 .csv 或 .xlsx 文件")
    ),
    ("GET", "/discovery"): staff(who("discovery.read")),
    ("GET", "/discovery/{task_id}"): staff(who("discovery.read"), scoped=True),
    ("POST", "/discovery/{task_id}/outcome"): staff(
        who("discovery.act"), scoped=True, form={}, ok=(422, "请选择核实结果并填写入户核实日期")
    ),
    ("GET", "/dashboard/discovery"): staff(who("discovery.coverage")),
    # ---- bureau pages ----
    ("GET", "/bureau"): staff(who("referral.read")),
    ("GET", "/bureau/referrals/{referral_id}"): staff(who("referral.read"), scoped=True, by_bureau=True),
    ("POST", "/bureau/referrals/{referral_id}/{action}"): referral_action("accept", page=True),
    # ---- front-door desk pages ----
    ("GET", "/frontdoor"): staff(who("request.read")),
    ("GET", "/frontdoor/requests/{request_no}"): staff(who("request.read"), scoped=True),
    ("POST", "/frontdoor/requests/{request_no}/{action}"): intake_action("answer", page=True),
    ("GET", "/frontdoor/new"): staff(who("request.register")),
    ("POST", "/frontdoor/new"): staff(
        who("request.register"),
        scoped=True,
        form=_frontdoor,
        ok=(303, re.compile(r"/frontdoor/requests/12349-\d{8}-[0-9A-Z]{6}\?done=new")),
    ),
    ("GET", "/frontdoor/complaints"): staff(who("complaint.read")),
    ("GET", "/frontdoor/complaints/{complaint_no}"): staff(who("complaint.read"), scoped=True),
    ("POST", "/frontdoor/complaints/{complaint_no}/{action}"): complaint_action("accept", page=True),
    ("GET", "/frontdoor/district"): staff(who("frontdoor.overview")),
    ("POST", "/documents/{owner_kind}/{owner_id}"): staff(
        who("document.upload"), scoped=True, params=DOCUMENTS, ok=(422, "请选择材料类型"), note="sent without files"
    ),
    ("GET", "/households"): staff(who("household.view")),
    ("POST", "/households"): staff(who("household.view"), form=_person, ok=(200, "石婆店求助人")),
    # ---- supervision pages (webapp/supervision/) ----
    ("GET", "/cases/{case_id}/history"): staff(who("case.history"), scoped=True),
    ("GET", "/cases/{case_id}/casefile.pdf"): staff(who("case.history"), scoped=True),
    ("GET", "/supervision/sampling"): staff(who("sampling.view")),
    ("POST", "/supervision/sampling/draw"): staff(
        who("sampling.draw"), form={"month": "2026-10"}, ok=(303, "/supervision/sampling?month=2026-10&done=drawn")
    ),
    ("GET", "/supervision/rechecks/{recheck_id}"): staff(who("sampling.view")),
    ("POST", "/supervision/rechecks/{recheck_id}"): staff(
        who("recheck.record"), form={}, ok=(422, "复核结论为必填项；复核情况为必填项")
    ),
    # the seeded re-check's open correction, closed without the written outcome: the role got through
    ("POST", "/cases/{case_id}/corrections/{recheck_id}/close"): staff(
        who("correction.close"), scoped=True, form={}, ok=(422, "请写明纠错处理结果（至少 4 个字）")
    ),
    ("POST", "/api/corrections/{recheck_id}/close"): staff(
        who("correction.close"), scoped=True, json={}, ok=(422, "invalid")
    ),
    ("GET", "/supervision/reviews"): staff(who("reviews.view")),
    ("POST", "/supervision/reviews/{case_id}/{action}"): staff(
        who("reviews.record"),
        scoped=True,
        params={"action": "propose"},
        form={"outcome": "continue", "findings": "情况未变"},
        ok=(404, "该保障对象不在您的辖区内"),
        foreign=(404, "该保障对象不在您的辖区内"),
        note="404: no recipient seeded",
    ),
    ("GET", "/supervision/digest"): staff(who("digest.view")),
    ("GET", "/supervision/conflicts"): staff(who("conflicts.view")),
    ("GET", "/supervision/access-log"): staff(who("access_log.view")),
    ("POST", "/supervision/access-log"): staff(
        who("access_log.view"), form={"user": "shipo_jingban"}, ok=(303, "/supervision/access-log?user=shipo_jingban")
    ),
    ("GET", "/supervision/declarations"): staff(who("declarations.view")),
    ("POST", "/supervision/declarations/draft"): staff(
        who("declarations.draft"), form={"month": ""}, ok=(422, "请选择申报月份")
    ),
    ("GET", "/supervision/declarations/{month}/{version}"): staff(who("declarations.view")),
    ("GET", "/supervision/declarations/{month}/{version}/export.{suffix}"): staff(
        who("declarations.view"), params={"suffix": "csv"}
    ),
    ("POST", "/supervision/declarations/{month}/{version}/confirm"): staff(
        who("declarations.confirm"), ok=(303, "/supervision/declarations/2026-11/1?done=confirmed")
    ),
    # ---- the payroll (webapp/payroll/): a draft payroll of 石婆店镇 seeded without its workflow ----
    ("GET", "/api/payrolls"): staff(who("payroll.view")),
    ("GET", "/api/payrolls/{payroll_id}"): staff(who("payroll.view"), scoped=True),
    ("POST", "/api/payrolls/{payroll_id}/check"): staff(who("payroll.check"), scoped=True, json={}, ok=CLOSED),
    ("POST", "/api/payrolls/{payroll_id}/confirm"): staff(who("payroll.confirm"), json={}, ok=CLOSED),
    ("GET", "/api/payrolls/{payroll_id}/bank-file.{suffix}"): staff(
        who("payroll.bank"), params={"suffix": "csv"}, ok=(409, "not_confirmed")
    ),
    ("POST", "/api/payrolls/{payroll_id}/bank-return"): staff(
        who("payroll.bank"), json={"file_name": "r.csv", "content_base64": "AAAA"}, ok=(409, "not_confirmed")
    ),
    ("POST", "/api/payrolls"): staff(
        who("payroll.draft"), scoped=True, json={"township_code": SHIPO, "month": "2026-12"}, ok=200
    ),
    ("POST", "/payroll/run"): staff(who("payroll.draft"), ok=(422, "请填写乡镇（街道）代码和发放月份")),
    ("POST", "/api/payrolls/supplementary"): staff(
        who("payroll.supplementary"), scoped=True, json={"township_code": SHIPO, "month": "2026-11"}, ok=200
    ),
    ("GET", "/api/cases/{case_id}/payment-account"): staff(
        who("account.view"), ok=(404, "not_found"), note="404: the seeded case is no recipient"
    ),
    ("POST", "/api/cases/{case_id}/payment-account"): staff(
        who("account.set"),
        json={
            "kind": "bank_card",
            "bank_name": "中国农业银行",
            "account_number": "4111111111111111",
            "holder_name": "石婆店申请人",
            "reason": "登记",
        },
        ok=(404, "not_found"),
        note="404: the seeded case is no recipient",
    ),
    ("GET", "/payroll"): staff(who("payroll.view")),
    ("GET", "/payroll/{payroll_id}"): staff(who("payroll.view"), scoped=True),
    ("POST", "/payroll/{payroll_id}/check"): staff(
        who("payroll.check"), scoped=True, ok=(409, "该发放流程已结束，不能再办理")
    ),
    ("POST", "/payroll/{payroll_id}/confirm"): staff(who("payroll.confirm"), ok=(409, "该发放流程已结束，不能再办理")),
    ("POST", "/payroll/{payroll_id}/bank-return"): staff(who("payroll.bank"), ok=(422, "请选择银行回盘文件")),
    ("POST", "/payroll/supplementary"): staff(
        who("payroll.supplementary"), ok=(422, "请填写乡镇（街道）代码和发放月份")
    ),
    ("GET", "/cases/{case_id}/payment-account"): staff(who("account.view"), ok=(404, "该案件不在保障对象名册中")),
    ("POST", "/cases/{case_id}/payment-account"): staff(who("account.set"), ok=(404, "该案件不在保障对象名册中")),
}

NOT_PAGES = ("/api/", "/openapi.json", "/docs", "/redoc", "/healthz", "/static")


def app_routes(app) -> set[tuple[str, str]]:
    found = set()
    for route in routing.iter_route_contexts(app.routes):
        methods = route.methods or {"GET"}  # a mount (static files) answers GET
        for method in methods - {"HEAD"}:
            found.add((method, route.path))
    return found


def is_page(path: str) -> bool:
    return not path.startswith(NOT_PAGES)


def test_every_route_has_a_rule() -> None:
    """A new route without a rule fails here: add it to RULES with the roles that may use it and what they get."""
    routes = app_routes(create_app(secret_key="x" * 40))
    missing = sorted(routes - RULES.keys())
    stale = sorted(RULES.keys() - routes)
    assert not missing, f"routes without an authorisation rule (add them to RULES): {missing}"
    assert not stale, f"rules for routes that no longer exist: {stale}"
    unstated = sorted(k for k, rule in RULES.items() if k[0] != "GET" and rule.ok is None and rule.allowed != PUBLIC)
    assert not unstated, f"writes must state what the allowed roles get (`ok`): {unstated}"
    unstated = sorted(k for k, rule in RULES.items() if rule.later and rule.later_ok is None)
    assert not unstated, f"rules with `later` roles must state what they get (`later_ok`): {unstated}"


# ---- running one call ------------------------------------------------------------------------------------


def _fill(path: str, rule: Rule, s: Seeds) -> str:
    values = {
        "case_id": s.case,
        "event_id": s.event,
        "request_no": s.request_no,
        "referral_id": s.referral,
        "complaint_no": s.complaint,
        "place_code": SHIPO_VILLAGE,
        "code": SHIPO,
        "id_number": s.person_id,
        "username": "matrix_target",
        "relative_id": str(s.relative_id if path.startswith("/account/") else s.admin_relative_id),
        "version": "1",
        "recheck_id": s.recheck,
        "month": s.declaration_month,
        "payroll_id": str(s.payroll_id),
        "task_id": s.discovery_task,
    } | rule.params
    filled = re.sub(r"\{(\w+)(?::path)?\}", lambda m: values[m.group(1)], path)
    if path == "/static":
        filled = "/static/" + values["path"]
    return filled


async def call(w: World, method: str, path: str, rule: Rule, user: str | None) -> httpx.Response:
    http = w.http
    http.cookies.clear()
    url = _fill(path, rule, w.seeds)
    headers = dict(w.headers.get(user or "", {}))
    kwargs: dict[str, Any] = {}
    body = rule.json if rule.json is not None else rule.form
    if callable(body):
        body = body(user or "anonymous", w.seeds)
    if rule.json is not None:
        kwargs["json"] = body
    elif rule.form is not None or method == "POST":
        data = dict(body or {})
        if rule.csrf:
            await http.get("/login")
            data["csrftoken"] = http.cookies.get("csrftoken", "")
        kwargs["data"] = data
    if rule.allowed == SIGNED and user == "signed":
        raw = jsonlib.dumps({"action": "accept", "note": "已受理"}).encode()
        headers |= bureau_signed(WEBHOOK_SECRET, urlsplit(url).path, raw) | {"content-type": "application/json"}
        kwargs = {"content": raw}
    r = await http.request(method, url, headers=headers, **kwargs)
    http.cookies.clear()
    return r


def _verdict(r: httpx.Response) -> str:
    kind = r.headers.get("content-type", "")
    if 300 <= r.status_code < 400:
        return f"{r.status_code} -> {r.headers.get('location', '')}"
    text = r.text[:160].replace("\n", " ") if "html" not in kind else ""
    if "html" in kind:
        found = re.search(r'<p class="error[^"]*"[^>]*>([^<]{0,120})', r.text) or re.search(
            r"<h1>([^<]{0,80})</h1>", r.text
        )
        text = found.group(1).strip() if found else ""
    return f"{r.status_code} {text}".strip()


def answers(r: httpx.Response, want: Want) -> bool:
    """Whether `r` is exactly the answer `want` names."""
    status, detail = (want, None) if isinstance(want, int) else want
    if r.status_code != status:
        return False
    if r.headers.get("content-type", "").startswith("application/json") and status >= 400:
        return r.json().get("code") == detail  # an API error always names its code
    if detail is None:
        return True
    if 300 <= status < 400:
        location = r.headers.get("location", "")
        return bool(detail.fullmatch(location)) if isinstance(detail, re.Pattern) else location == detail
    assert isinstance(detail, str)
    return detail in re.sub(r"\s+", " ", r.text)


def _for(wants: Wants, role: Role) -> Want:
    return wants[role] if isinstance(wants, Mapping) else wants


def _show(want: Want) -> str:
    if isinstance(want, int):
        return str(want)
    detail = want[1].pattern if isinstance(want[1], re.Pattern) else want[1]
    return f"{want[0]} {detail}"


# One problem: (method, path, the role or "anonymous"/"signed", what was wanted and what came).
Problem = tuple[str, str, str, str]


async def check_route(w: World, method: str, path: str, rule: Rule) -> list[Problem]:
    problems: list[Problem] = []

    def expect(who: str, role: str, r: httpx.Response, want: Want) -> None:
        if not answers(r, want):
            problems.append((method, path, role, f"{method} {path} as {who}: want {_show(want)}, got {_verdict(r)}"))

    r = await call(w, method, path, rule, None)
    if rule.allowed == PUBLIC:
        public = rule.ok if rule.ok is not None else 200
        assert not isinstance(public, Mapping)  # no role to tell apart
        expect("anonymous", "anonymous", r, public)
        return problems
    if rule.allowed == SIGNED:
        expect("anonymous (unsigned)", "anonymous", r, (401, "bad_signature"))
        r = await call(w, method, path, rule, "signed")
        assert rule.ok is not None
        expect("the bureau (signed)", "signed", r, _for(rule.ok, BU))
        return problems
    page = is_page(path)
    if page:
        expect("anonymous", "anonymous", r, (303, "/login?next=" + quote(_fill(path, rule, w.seeds), safe="/")))
    else:
        expect("anonymous", "anonymous", r, (401, "unauthenticated"))

    assert isinstance(rule.allowed, frozenset)
    forbidden = ALL - rule.allowed - rule.later
    # Refusals first: an allowed call may change the row (a workflow started, an entry deleted).
    for role in sorted(forbidden):
        r = await call(w, method, path, rule, HOME_USERS[role])
        expect(f"{HOME_USERS[role]} ({role})", role, r, 403 if page else WRONG_ROLE)
    for role in sorted(rule.later):
        r = await call(w, method, path, rule, HOME_USERS[role])
        assert rule.later_ok is not None
        expect(f"{HOME_USERS[role]} ({role}, refused later)", role, r, _for(rule.later_ok, role))
    if rule.scoped:
        foreign = FOREIGN_USERS.keys() if rule.by_bureau else FOREIGN_USERS.keys() - {BU}
        for role in sorted((rule.allowed | rule.later) & foreign):
            r = await call(w, method, path, rule, FOREIGN_USERS[role])
            if rule.foreign is not None:
                want = _for(rule.foreign, role)
            else:
                want = 403 if page else (403, "wrong_bureau") if role is BU else ELSEWHERE
            expect(f"{FOREIGN_USERS[role]} ({role}, other township/bureau)", f"foreign {role}", r, want)
    for role in sorted(rule.allowed):
        r = await call(w, method, path, rule, HOME_USERS[role])
        expect(f"{HOME_USERS[role]} ({role}, allowed)", role, r, _for(rule.ok, role) if rule.ok is not None else 200)
    return problems


# Mismatches found and reported to the owners of these routes, by route and role; listed here with the answer
# the matrix wants, so it stays green meanwhile. Once one behaves, the test says so and its entry must go.
KNOWN_ISSUES: dict[tuple[str, str, str], str] = {}


@pytest.mark.timeout(900)
async def test_authorisation_matrix(world: World) -> None:
    """Every rule against every role; all mismatches are reported together."""
    routes = app_routes(world.app)
    problems: list[str] = []
    known: set[tuple[str, str, str]] = set()
    for method, path in sorted(routes & RULES.keys(), key=lambda mp: (mp[1], mp[0])):
        for m, p, caller, text in await check_route(world, method, path, RULES[(method, path)]):
            if (m, p, caller) in KNOWN_ISSUES:
                known.add((m, p, caller))
            else:
                problems.append(text)
    assert not problems, f"{len(problems)} authorisation mismatches:\n" + "\n".join(problems)
    fixed = sorted(KNOWN_ISSUES.keys() - known)
    assert not fixed, f"these now behave: remove them from KNOWN_ISSUES: {fixed}"
    # Whatever anyone was shown, on any route, in any role: never a secret of the server.
    assert len(world.recorder.bodies) > 1000
    for secret in (WEBHOOK_SECRET, SECRET, "$argon2"):
        assert not world.recorder.containing(secret), f"a response carried {secret[:12]}…"


# ---- the same calls on rows with a running workflow ------------------------------------------------------------


async def _eventually(check, what: str):
    for _ in range(600):  # a minute: workflows start at once, CI machines may be busy
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


async def _api(w: World, user: str, method: str, url: str, **kw: Any) -> httpx.Response:
    r = await w.http.request(method, url, headers=w.headers[user], **kw)
    w.http.cookies.clear()
    return r


@pytest.mark.timeout(300)
async def test_allowed_roles_succeed_on_live_rows(world: World) -> None:
    """The matrix's seeded rows have no workflow, so the actions on them are answered "closed", to the allowed
    roles and the `later` ones alike. Here the same routes, with the matrix's bodies, act on rows with a running
    workflow: the roles the workflow refuses get 403 `wrong_role` (another bureau `wrong_bureau`), the allowed
    roles' actions are done: 200 from the API, the page's redirect to the row."""
    w = world
    # Referrals go to the medical bureau's inbox (its webhook in the seed points nowhere).
    await w.pool.execute("update bureau_endpoints set active = false where bureau = 'medical'")
    body = application("SEC-LIVE-0001").model_dump(mode="json")
    r = await _api(w, "shipo_jingban", "POST", "/api/cases", json=body)
    assert r.status_code == 202, r.text
    emergency = _emergency("shipo_cun1", w.seeds) | {"event_id": "JJN-SEC-LIVE-0001"}
    r = await _api(w, "shipo_cun1", "POST", "/api/emergencies", json=emergency)
    assert r.status_code == 201, r.text
    r = await _api(w, "shipo_cun1", "POST", f"/api/funds/{SHIPO_VILLAGE}/income", json=FUND_INCOME)
    assert r.status_code == 201, r.text
    numbers = []
    for kind in ("help", "enquiry", "enquiry"):
        request = _frontdoor("shipo_jingban", w.seeds) | {"kind": kind}
        r = await _api(w, "shipo_jingban", "POST", "/api/frontdoor/requests", json=request)
        assert r.status_code == 201, r.text
        numbers.append(r.json()["request_no"])
    help_no, enquiry_no, other_enquiry_no = numbers
    r = await _api(w, "shipo_jingban", "POST", "/api/complaints", json=_complaint("shipo_jingban", w.seeds))
    assert r.status_code == 201, r.text
    complaint_no = r.json()["complaint_no"]

    async def investigating() -> bool:
        r = await _api(w, "qu_minzheng", "GET", "/api/cases/SEC-LIVE-0001")
        return r.status_code == 200 and r.json()["case"]["stage"] == "investigation"

    await _eventually(investigating, "SEC-LIVE-0001 under investigation")
    seeds = replace(w.seeds, case="SEC-LIVE-0001", event="JJN-SEC-LIVE-0001", complaint=complaint_no)
    problems: list[str] = []

    async def act(path: str, user: str, want: Want, **row: str) -> httpx.Response:
        rule = RULES[("POST", path)]
        live = replace(w, seeds=replace(seeds, **row))
        r = await call(live, "POST", path, rule, user)
        if not answers(r, want):
            problems.append(f"POST {_fill(path, rule, live.seeds)} as {user}: want {_show(want)}, got {_verdict(r)}")
        return r

    # The review: a village cadre may not ask for missing materials; the caseworker and the approver act.
    await act("/api/cases/{case_id}/actions/missing_materials", "shipo_cun1", WRONG_ROLE)
    await act(
        "/cases/{case_id}/act/{action}", "shipo_cun1", (403, "须由乡镇审批人、乡镇经办人办理，您是村（社区）干部")
    )
    await act("/cases/{case_id}/act/{action}", "shipo_jingban", (303, "/cases/SEC-LIVE-0001?done=missing_materials"))
    await act("/api/cases/{case_id}/actions/materials_supplied", "shipo_shenpi", 200)
    await act("/api/cases/{case_id}/actions/missing_materials", "shipo_jingban", 200)
    # Emergency aid: the village tier is the village cadre's, not the township caseworker's.
    await act("/api/emergencies/{event_id}/actions/approve", "shipo_jingban", WRONG_ROLE)
    await act("/api/emergencies/{event_id}/actions/approve", "shipo_cun1", 200)
    await act("/api/emergencies/{event_id}/actions/documents", "shipo_cun1", 200)
    await act("/emergencies/{event_id}/{action}", "shipo_cun1", (303, "/emergencies/JJN-SEC-LIVE-0001?done=close"))
    # The front door: the desk triages and answers; a village cadre and the administrator do not.
    for user in ("shipo_cun1", "admin", "qu_jiandu"):
        await act("/api/frontdoor/requests/{request_no}/triage", user, WRONG_ROLE, request_no=help_no)
        await act("/api/frontdoor/requests/{request_no}/answer", user, WRONG_ROLE, request_no=enquiry_no)
    await act("/api/frontdoor/requests/{request_no}/triage", "shipo_jingban", 200, request_no=help_no)
    await act("/api/frontdoor/requests/{request_no}/answer", "shipo_shenpi", 200, request_no=enquiry_no)
    await act(
        "/frontdoor/requests/{request_no}/{action}",
        "shipo_jingban",
        (303, f"/frontdoor/requests/{other_enquiry_no}?done=answer"),
        request_no=other_enquiry_no,
    )
    # The referral the triage made: the medical bureau answers, another bureau and the township may not.
    referral = await _eventually(
        lambda: w.pool.fetchval(
            "select referral_id from referrals where request_no = $1 and adapter = 'inbox'", help_no
        ),
        "the referral delivered to the bureau's inbox",
    )
    for user in ("shipo_jingban", "qu_minzheng", "admin"):
        await act("/api/referrals/{referral_id}/accept", user, WRONG_ROLE, referral=referral)
    await act("/api/referrals/{referral_id}/accept", "jiaoyu_bu", (403, "wrong_bureau"), referral=referral)
    await act(
        "/bureau/referrals/{referral_id}/{action}",
        "yiliao_bu",
        (303, f"/bureau/referrals/{referral}?done=accept"),
        referral=referral,
    )
    await act("/api/referrals/{referral_id}/request-info", "yiliao_bu", 200, referral=referral)
    await act("/api/referrals/{referral_id}/supply-info", "yiliao_bu", WRONG_ROLE, referral=referral)
    await act("/api/referrals/{referral_id}/supply-info", "shipo_jingban", 200, referral=referral)
    await act("/api/referrals/{referral_id}/result", "yiliao_bu", 200, referral=referral)
    # A complaint: the township it is about handles it; the administrator and the supervisor do not.
    for user in ("admin", "qu_jiandu"):
        await act("/api/complaints/{complaint_no}/accept", user, WRONG_ROLE)
    await act(
        "/frontdoor/complaints/{complaint_no}/{action}",
        "shipo_jingban",
        (303, f"/frontdoor/complaints/{complaint_no}?done=accept"),
    )
    await act("/api/complaints/{complaint_no}/conclude", "shipo_shenpi", 200)
    assert not problems, "\n".join(problems)

    # What the successes did, read back from the rows.
    case = (await _api(w, "qu_minzheng", "GET", "/api/cases/SEC-LIVE-0001")).json()
    clock = case["state"]["clock"]
    assert (clock["accepted_on"], clock["paused"], clock["paused_since"]) == (TODAY, True, TODAY), clock
    paid = await w.pool.fetch("select amount_fen from aid_payments where event_id = 'JJN-SEC-LIVE-0001'")
    assert [p["amount_fen"] for p in paid] == [50000]
    statuses = await w.pool.fetch(
        "select request_no, status from frontdoor_requests where request_no = any($1::text[])", numbers
    )
    # The request is closed with its only need answered by the bureau, the enquiries with their answers.
    assert dict(statuses) == {help_no: "closed", enquiry_no: "closed", other_enquiry_no: "closed"}
    assert await w.pool.fetchval("select status from referrals where referral_id = $1", referral) == "answered"
    assert await w.pool.fetchval("select status from complaints where complaint_no = $1", complaint_no) == "concluded"
    assert await w.pool.fetchval("select status from emergencies where event_id = 'JJN-SEC-LIVE-0001'") == "closed"
