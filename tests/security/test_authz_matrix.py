"""The authorisation matrix: every route of the app (read from `app.routes`) has a rule in `RULES`, and
every rule is checked against every role, anonymously, and across townships.

A route added without a rule fails `test_every_route_has_a_rule`; a rule whose route is gone fails it too.

For each route the rule names
- `allowed`: the roles that must get through (whatever the business answer: 409 from the workflow,
  422 for a form, 404 for a row that is not theirs is fine; 401/403 and any 5xx are not);
- `later`: roles the HTTP layer lets through to a check further in (the workflow's update validator,
  which checks the role per stage, or the request model's own validator); they must be refused (4xx),
  just not necessarily with 403 here, since the seeded rows have no workflow behind them. That the
  workflows do refuse them with 403 through HTTP is `test_workflow_refuses_roles_through_http`;
- every other role must get exactly 403; anonymous callers 401 (API) or a redirect to the log-in page;
- `scoped`: the path (or body) names a row of 石婆店镇; the same roles in 顺河镇 (and another bureau)
  must get 403 or 404.

Rows are seeded with SQL in both townships (tests/security/conftest.py); a real worker on Temporal's
time-skipping server answers whatever the routes start or update.
"""

from __future__ import annotations

import hashlib
import hmac
import json as jsonlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pytest
from fastapi import routing

from db.users_repo import DEMO_PASSWORD
from schemas.staff import Role
from tests.factories import application, resident_id
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
from webapp.app import create_app

A, SUP, OFF = Role.ADMIN, Role.DISTRICT_SUPERVISOR, Role.DISTRICT_OFFICER
CW, AP, VC, BU = Role.TOWNSHIP_CASEWORKER, Role.TOWNSHIP_APPROVER, Role.VILLAGE_CADRE, Role.BUREAU_STAFF
ALL = frozenset(Role)
NOT_BU = ALL - {BU}
DESK = frozenset({CW, AP, OFF})  # the window and the 12349 hotline
HOUSEHOLD = frozenset({CW, AP, OFF, SUP})
DISTRICT = frozenset({OFF, SUP})
TOWNSHIP = frozenset({CW, AP})
PUBLIC = "public"
SIGNED = "signed"  # no log-in: an HMAC signature with the bureau's webhook secret

Body = dict[str, Any] | Callable[[str, Seeds], dict[str, Any]] | None


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


def staff(allowed: frozenset[Role], **kw: Any) -> Rule:
    return Rule(allowed=allowed, **kw)


def today() -> str:
    return date.today().isoformat()


# ---- request bodies ------------------------------------------------------------------------------------

_new_ids = iter(range(1, 10_000))


def _application(user: str, s: Seeds) -> dict[str, Any]:
    return application(f"SEC-NEW-{next(_new_ids):04d}").model_dump(mode="json")


def _emergency(user: str, s: Seeds) -> dict[str, Any]:
    return {
        "kind": "fire",
        "description": "夜间房屋失火，财物烧毁",
        "household": {
            "name": "赵六",
            "id_number": resident_id(date(1975, 6, 1), seq=610),
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


def _complaint(user: str, s: Seeds) -> dict[str, Any]:
    return {"complainant": "孙八", "phone": "13956406666", "township_code": SHIPO, "content": "村里评议不公"}


def _home_visit(user: str, s: Seeds) -> dict[str, Any]:
    return {
        "visited_on": today(),
        "investigators": sorted({user, "shipo_diaocha"}) if user != "shipo_diaocha" else ["shipo_diaocha", user],
        "family_signatures": ["王大山"],
        "findings": "房屋老旧，家中无大件电器",
    }


REVIEW_BODIES: dict[str, Body] = {
    "missing_materials": {"items": ["户口簿"]},
    "materials_supplied": {},
    "verification_result": {"verified_monthly_income": "600.00", "assets_within_limits": True, "findings": "无异常"},
    "home_visit": _home_visit,
    "neighbour_interview": lambda u, s: {
        "interviewed_on": today(),
        "interviewees": ["邻居张三", "邻居李四"],
        "findings": "邻居反映家庭确实困难",
    },
    "hearing": lambda u, s: {
        "held_on": today(),
        "participants": ["村民代表甲", "村民代表乙", "村委会主任"],
        "opinion": "agree",
        "summary": "一致同意",
    },
    "decision": {"approve": True, "category": "B"},
    "objection": {"objector": "村民甲", "content": "申请人家有轿车"},
    "take_over": {"reason": "超期未办，区级接管"},
}
# Who may take each action (rules.stages.ACTION_ROLES); a district officer acts for a township once the
# district has taken the case over, and decides where the district approves.
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
}


def review_action(action: str) -> Rule:
    """Supervisors are refused by the API; every other role reaches the workflow, which decides by role."""
    roles = REVIEW_ROLES[action]
    return staff(roles, later=ALL - roles - {SUP}, scoped=True, json=REVIEW_BODIES[action])


EMERGENCY_BODIES: dict[str, Body] = {
    "approve": {"tier": "village", "amount": "500.00"},
    "escalate": {"reason": "超出村级封顶，申报乡镇"},
    "documents": {"items": ["病历", "费用清单"]},
    "close": {"summary": "已救助，材料齐全"},
}
EMERGENCY_ROLES = {
    "approve": frozenset({VC, AP, OFF}),  # each tier its own payer
    "escalate": frozenset({VC, CW, AP, OFF}),
    "documents": frozenset({VC, CW, AP, OFF}),
    "close": frozenset({VC, CW, AP, OFF}),
}


def emergency_action(action: str, *, page: bool = False) -> Rule:
    roles = EMERGENCY_ROLES[action]
    body = EMERGENCY_BODIES[action]
    if page:
        form = {k: "、".join(v) if isinstance(v, list) else v for k, v in body.items()}
        return staff(roles, later=ALL - roles - {SUP}, scoped=True, form=form, params={"action": action})
    return staff(roles, later=ALL - roles - {SUP}, scoped=True, json=body)


INTAKE_BODIES = {
    "triage": {"needs": ["medical_costs"]},
    "link-case": lambda u, s: {"need": "low_income", "case_id": s.case},
    "answer": {"text": "您好，已为您登记，请等待答复"},
}


def intake_action(action: str, *, page: bool = False) -> Rule:
    """Bureau staff never read requests; triage, linking and answers are the desk's (the workflow says)."""
    body = INTAKE_BODIES[action]
    kw: dict[str, Any] = {"form": body, "params": {"action": action}} if page else {"json": body}
    return staff(DESK, later=frozenset({A, SUP, VC}), scoped=True, **kw)


REFERRAL_BODIES = {
    "accept": {},
    "request-info": {"question": "请补充近三个月的病历"},
    "supply-info": {"info": "已补充病历"},
    "result": {"outcome": "helped", "help_given": "已按规定报销医疗费用", "amount": "800.00"},
}


def referral_action(action: str, *, page: bool = False) -> Rule:
    """Village cadres never see referrals; the bureau answers, the desk supplies information."""
    roles = DESK if action == "supply-info" else frozenset({BU})
    body = REFERRAL_BODIES[action]
    kw: dict[str, Any] = {"form": body, "params": {"action": action}} if page else {"json": body}
    return staff(roles, later=ALL - roles - {VC}, scoped=True, by_bureau=True, **kw)


COMPLAINT_BODIES = {"accept": {}, "conclude": {"finding": "unsubstantiated", "reply": "经核查，评议程序合规"}}


def complaint_action(action: str, *, page: bool = False) -> Rule:
    """Complaints are for township and district staff; village cadres and bureaus never see them."""
    body = COMPLAINT_BODIES[action]
    kw: dict[str, Any] = {"form": body, "params": {"action": action}} if page else {"json": body}
    return staff(DESK, later=frozenset({A, SUP}), scoped=True, **kw)


LOGIN = {"username": "matrix_target", "password": DEMO_PASSWORD}
ADMIN = frozenset({A})

RULES: dict[tuple[str, str], Rule] = {
    # ---- framework, health ----
    ("GET", "/openapi.json"): Rule(PUBLIC, note="the API's description; no data"),
    ("GET", "/docs"): Rule(PUBLIC),
    ("GET", "/docs/oauth2-redirect"): Rule(PUBLIC),
    ("GET", "/redoc"): Rule(PUBLIC),
    ("GET", "/healthz"): Rule(PUBLIC),
    ("GET", "/readyz"): Rule(PUBLIC, note="database and Temporal up or not; no data"),
    ("GET", "/metrics"): Rule(
        PUBLIC, note="labels are route templates; JIUZHU_METRICS_TOKEN closes it (webapp/ops.py)"
    ),
    ("GET", "/static"): Rule(PUBLIC, params={"path": "css/app.css"}),
    # ---- log-in (webapp/auth.py) ----
    ("POST", "/api/auth/login"): Rule(PUBLIC, json=LOGIN),
    ("POST", "/api/auth/logout"): Rule(PUBLIC),
    ("GET", "/api/me"): staff(ALL),
    # ---- cases (webapp/cases.py) ----
    ("POST", "/api/cases"): staff(frozenset({CW, AP}), scoped=True, json=_application),
    ("GET", "/api/cases"): staff(NOT_BU),
    ("GET", "/api/cases/{case_id}"): staff(NOT_BU, scoped=True),
    ("GET", "/api/verification-requests"): staff(NOT_BU),
    ("POST", "/api/calendar/changed"): staff(ADMIN),
    **{("POST", f"/api/cases/{{case_id}}/actions/{a}"): review_action(a) for a in REVIEW_ROLES},
    # ---- emergency aid (webapp/emergency.py) ----
    ("POST", "/api/emergencies"): staff(frozenset({VC, CW, AP}), scoped=True, json=_emergency),
    ("GET", "/api/emergencies"): staff(NOT_BU),
    ("GET", "/api/emergencies/{event_id}"): staff(NOT_BU, scoped=True),
    **{("POST", f"/api/emergencies/{{event_id}}/actions/{a}"): emergency_action(a) for a in EMERGENCY_ROLES},
    ("GET", "/api/funds/{place_code}"): staff(NOT_BU, scoped=True, note="the village fund of 石婆店镇示范村一"),
    ("POST", "/api/funds/{place_code}/income"): staff(
        frozenset({VC, A}), scoped=True, json={"amount": "1000.00", "source": "government"}
    ),
    # ---- 12349 front door (webapp/frontdoor_api.py) ----
    ("POST", "/api/frontdoor/requests"): staff(DESK, scoped=True, json=_frontdoor),
    ("GET", "/api/frontdoor/requests"): staff(NOT_BU),
    ("GET", "/api/frontdoor/requests/{request_no}"): staff(NOT_BU, scoped=True),
    ("POST", "/api/frontdoor/requests/{request_no}/triage"): intake_action("triage"),
    ("POST", "/api/frontdoor/requests/{request_no}/link-case"): intake_action("link-case"),
    ("POST", "/api/frontdoor/requests/{request_no}/answer"): intake_action("answer"),
    ("GET", "/api/referrals"): staff(ALL - {VC}),
    ("GET", "/api/referrals/{referral_id}"): staff(ALL - {VC}, scoped=True, by_bureau=True),
    **{("POST", f"/api/referrals/{{referral_id}}/{a}"): referral_action(a) for a in REFERRAL_BODIES},
    ("POST", "/api/referrals/{referral_id}/callback"): Rule(SIGNED),
    ("POST", "/api/complaints"): staff(DESK, scoped=True, json=_complaint),
    ("GET", "/api/complaints"): staff(NOT_BU - {VC}),
    ("GET", "/api/complaints/{complaint_no}"): staff(NOT_BU - {VC}, scoped=True),
    **{("POST", f"/api/complaints/{{complaint_no}}/{a}"): complaint_action(a) for a in COMPLAINT_BODIES},
    ("GET", "/api/frontdoor/overview"): staff(frozenset({OFF, SUP})),
    ("POST", "/api/households/lookup"): staff(HOUSEHOLD, json=_person),
    # ---- pages: log-in, account (webapp/ui/auth_pages.py, admin_relatives.py) ----
    ("GET", "/"): staff(ALL),
    ("GET", "/login"): Rule(PUBLIC),
    ("POST", "/login"): Rule(PUBLIC, form=LOGIN, csrf=True),
    ("POST", "/logout"): Rule(PUBLIC),
    ("GET", "/account"): staff(ALL),
    ("POST", "/account/password"): staff(ALL, form={"current": "wrong", "new": "x", "confirm": "y"}),
    ("POST", "/lang"): Rule(PUBLIC, form={"locale": "zh_CN"}),
    ("GET", "/account/relatives"): staff(ALL),
    ("POST", "/account/relatives"): staff(ALL, form={"name": "", "id_number": "", "relation": ""}),
    ("POST", "/account/relatives/{relative_id}/delete"): staff(ALL, note="only one's own entries (404 otherwise)"),
    # ---- caseworker pages ----
    ("GET", "/cases/new"): staff(frozenset({CW, AP})),
    ("POST", "/cases/new"): staff(frozenset({CW, AP}), form={}),
    ("POST", "/cases/new/check-id"): staff(ALL, form={"id_number": "x"}, note="format check only, reads nothing"),
    ("GET", "/inbox"): staff(frozenset({VC, CW, AP, OFF})),
    ("GET", "/cases/{case_id}"): staff(NOT_BU, scoped=True),
    ("POST", "/cases/{case_id}/act/{action}"): staff(
        REVIEW_ROLES["missing_materials"],
        later=ALL - REVIEW_ROLES["missing_materials"] - {SUP},
        scoped=True,
        form={"items": "户口簿"},
        params={"action": "missing_materials"},
    ),
    # ---- supervisor pages ----
    ("GET", "/cases"): staff(NOT_BU),
    ("GET", "/cases/export.{suffix}"): staff(NOT_BU, params={"suffix": "csv"}),
    ("GET", "/dashboard"): staff(frozenset({SUP, OFF, A})),
    ("GET", "/dashboard/rollout"): staff(frozenset({SUP, OFF, A})),
    ("POST", "/dashboard/rollout/switch"): staff(
        frozenset({OFF, A}), form={"township": SHIPO, "level": "township", "effective_from": "not-a-date"}
    ),
    ("GET", "/overdue"): staff(frozenset({SUP, OFF})),
    ("POST", "/overdue/{case_id}/take-over"): staff(frozenset({OFF}), form={"reason": "超期未办，区级接管"}),
    ("GET", "/cases/{case_id}/approval.pdf"): staff(NOT_BU, scoped=True),
    # ---- admin pages: the administrator only ----
    ("GET", "/admin"): staff(ADMIN),
    ("GET", "/admin/users"): staff(ADMIN),
    ("GET", "/admin/users/new"): staff(ADMIN),
    ("GET", "/admin/users/place-field"): staff(ADMIN),
    ("POST", "/admin/users"): staff(ADMIN, form={}),
    ("GET", "/admin/users/{username}/edit"): staff(ADMIN),
    ("POST", "/admin/users/{username}/edit"): staff(ADMIN, form={}),
    ("POST", "/admin/users/{username}/password"): staff(ADMIN, form={"password": "short", "confirm": "short"}),
    ("GET", "/admin/relatives"): staff(ADMIN),
    ("GET", "/admin/relatives/{username}"): staff(ADMIN),
    ("POST", "/admin/relatives/{username}"): staff(ADMIN, form={}),
    ("POST", "/admin/relatives/{username}/{relative_id}/delete"): staff(ADMIN),
    ("GET", "/admin/places"): staff(ADMIN),
    ("GET", "/admin/places/{code}/edit"): staff(ADMIN),
    ("POST", "/admin/places/{code}/edit"): staff(ADMIN, form={}),
    ("GET", "/admin/places/{code}/villages/new"): staff(ADMIN),
    ("POST", "/admin/places/{code}/villages"): staff(ADMIN, form={}),
    ("GET", "/admin/calendar"): staff(ADMIN),
    ("POST", "/admin/calendar/import"): staff(ADMIN, form={}),
    ("POST", "/admin/calendar/announce"): staff(ADMIN),
    ("GET", "/admin/policy"): staff(ADMIN),
    ("GET", "/admin/policy/new"): staff(ADMIN),
    ("POST", "/admin/policy"): staff(ADMIN, form={"body": "{}"}),
    ("GET", "/admin/policy/{version}"): staff(ADMIN),
    # ---- emergency pages ----
    ("GET", "/emergencies"): staff(NOT_BU),
    ("GET", "/emergencies/new"): staff(frozenset({VC, CW, AP})),
    ("POST", "/emergencies/new"): staff(frozenset({VC, CW, AP}), scoped=True, form=_emergency_form),
    ("GET", "/emergencies/{event_id}"): staff(NOT_BU, scoped=True),
    ("POST", "/emergencies/{event_id}/{action}"): emergency_action("close", page=True),
    ("GET", "/funds/{place_code}"): staff(NOT_BU, scoped=True),
    ("POST", "/funds/{place_code}"): staff(
        frozenset({VC, A}), scoped=True, form={"amount": "10", "source": "government"}
    ),
    # ---- the public 12349 portal: no log-in (webapp/portal.py) ----
    ("GET", "/portal"): Rule(PUBLIC),
    ("GET", "/portal/villages"): Rule(PUBLIC),
    ("GET", "/portal/apply"): Rule(PUBLIC),
    ("POST", "/portal/apply"): Rule(PUBLIC, form={}, csrf=True),
    ("GET", "/portal/ask"): Rule(PUBLIC),
    ("POST", "/portal/ask"): Rule(PUBLIC, form={}, csrf=True),
    ("GET", "/portal/complain"): Rule(PUBLIC),
    ("POST", "/portal/complain"): Rule(PUBLIC, form={}, csrf=True),
    ("GET", "/portal/done"): Rule(PUBLIC),
    ("GET", "/portal/status"): Rule(PUBLIC),
    ("POST", "/portal/status"): Rule(PUBLIC, form={}, csrf=True),
    # ---- bureau pages ----
    ("GET", "/bureau"): staff(ALL - {VC}),
    ("GET", "/bureau/referrals/{referral_id}"): staff(ALL - {VC}, scoped=True, by_bureau=True),
    ("POST", "/bureau/referrals/{referral_id}/{action}"): referral_action("accept", page=True),
    # ---- front-door desk pages ----
    ("GET", "/frontdoor"): staff(NOT_BU),
    ("GET", "/frontdoor/requests/{request_no}"): staff(NOT_BU, scoped=True),
    ("POST", "/frontdoor/requests/{request_no}/{action}"): intake_action("answer", page=True),
    ("GET", "/frontdoor/new"): staff(DESK),
    ("POST", "/frontdoor/new"): staff(DESK, scoped=True, form=_frontdoor),
    ("GET", "/frontdoor/complaints"): staff(NOT_BU - {VC}),
    ("GET", "/frontdoor/complaints/{complaint_no}"): staff(NOT_BU - {VC}, scoped=True),
    ("POST", "/frontdoor/complaints/{complaint_no}/{action}"): complaint_action("accept", page=True),
    ("GET", "/frontdoor/district"): staff(frozenset({OFF, SUP})),
    ("GET", "/households"): staff(HOUSEHOLD),
    ("POST", "/households"): staff(HOUSEHOLD, form=_person),
    # ---- supervision pages (webapp/ui/supervision_*.py) ----
    ("GET", "/cases/{case_id}/history"): staff(DISTRICT | TOWNSHIP, scoped=True),
    ("GET", "/cases/{case_id}/casefile.pdf"): staff(DISTRICT | TOWNSHIP, scoped=True),
    ("GET", "/supervision/sampling"): staff(DISTRICT),
    ("POST", "/supervision/sampling/draw"): staff(frozenset({OFF}), form={"month": "2026-10"}),
    ("GET", "/supervision/rechecks/{recheck_id}"): staff(DISTRICT),
    ("POST", "/supervision/rechecks/{recheck_id}"): staff(frozenset({OFF}), form={}),
    ("GET", "/supervision/reviews"): staff(DISTRICT | TOWNSHIP),
    ("POST", "/supervision/reviews/{case_id}"): staff(
        DESK, scoped=True, form={"outcome": "continue", "findings": "情况未变"}, note="404: no recipient seeded"
    ),
    ("GET", "/supervision/digest"): staff(DISTRICT | TOWNSHIP),
    ("GET", "/supervision/conflicts"): staff(DISTRICT),
    ("GET", "/supervision/declarations"): staff(DISTRICT),
    ("POST", "/supervision/declarations/draft"): staff(frozenset({OFF}), form={"month": ""}),
    ("GET", "/supervision/declarations/{month}/{version}"): staff(DISTRICT),
    ("GET", "/supervision/declarations/{month}/{version}/export.{suffix}"): staff(DISTRICT, params={"suffix": "csv"}),
    ("POST", "/supervision/declarations/{month}/{version}/confirm"): staff(frozenset({OFF})),
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
    """A new route without a rule fails here: add it to RULES with the roles that may use it."""
    routes = app_routes(create_app(secret_key="x" * 40))
    missing = sorted(routes - RULES.keys())
    stale = sorted(RULES.keys() - routes)
    assert not missing, f"routes without an authorisation rule (add them to RULES): {missing}"
    assert not stale, f"rules for routes that no longer exist: {stale}"


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
        headers["x-jiuzhu-signature"] = "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        headers["content-type"] = "application/json"
        kwargs = {"content": raw}
    r = await http.request(method, url, headers=headers, **kwargs)
    http.cookies.clear()
    return r


def _login_redirect(r: httpx.Response) -> bool:
    return r.status_code == 303 and r.headers.get("location", "").startswith("/login")


def _verdict(r: httpx.Response) -> str:
    text = r.text[:160].replace("\n", " ") if "html" not in r.headers.get("content-type", "") else ""
    if "html" in r.headers.get("content-type", ""):
        found = re.search(r'<p class="error[^"]*"[^>]*>([^<]{0,120})', r.text) or re.search(
            r"<h1>([^<]{0,80})</h1>", r.text
        )
        text = found.group(1).strip() if found else ""
    return f"{r.status_code} {text}".strip()


async def check_route(w: World, method: str, path: str, rule: Rule) -> list[str]:
    problems: list[str] = []
    where = f"{method} {path}"

    def bad(who: str, want: str, r: httpx.Response) -> None:
        problems.append(f"{where} as {who}: want {want}, got {_verdict(r)}")

    r = await call(w, method, path, rule, None)
    if r.status_code >= 500:
        bad("anonymous", "no 5xx", r)
    elif rule.allowed == PUBLIC:
        if r.status_code in (401, 403):
            bad("anonymous", "public", r)
        return problems
    elif rule.allowed == SIGNED:
        if r.status_code != 401:
            bad("anonymous (unsigned)", "401", r)
        r = await call(w, method, path, rule, "signed")
        if r.status_code in (401, 403) or r.status_code >= 500:
            bad("the bureau (signed)", "accepted signature", r)
        return problems
    elif is_page(path):
        if not _login_redirect(r):
            bad("anonymous", "redirect to /login", r)
    elif r.status_code != 401:
        bad("anonymous", "401", r)

    assert isinstance(rule.allowed, frozenset)
    forbidden = ALL - rule.allowed - rule.later
    # Refusals first: an allowed call may change the row (a workflow started, an entry deleted).
    for role in sorted(forbidden):
        r = await call(w, method, path, rule, HOME_USERS[role])
        if r.status_code != 403:
            bad(f"{HOME_USERS[role]} ({role})", "403", r)
    for role in sorted(rule.later):
        r = await call(w, method, path, rule, HOME_USERS[role])
        if not 400 <= r.status_code < 500 or r.status_code == 401:
            bad(f"{HOME_USERS[role]} ({role}, refused later)", "a 4xx refusal", r)
    if rule.scoped:
        foreign = FOREIGN_USERS.keys() if rule.by_bureau else FOREIGN_USERS.keys() - {BU}
        for role in sorted((rule.allowed | rule.later) & foreign):
            r = await call(w, method, path, rule, FOREIGN_USERS[role])
            if r.status_code not in (403, 404):
                bad(f"{FOREIGN_USERS[role]} ({role}, other township/bureau)", "403 or 404", r)
    for role in sorted(rule.allowed):
        r = await call(w, method, path, rule, HOME_USERS[role])
        if r.status_code in (401, 403) or r.status_code >= 500 or _login_redirect(r):
            bad(f"{HOME_USERS[role]} ({role}, allowed)", "not 401/403/5xx", r)
        elif method == "GET" and r.status_code >= 400:  # reads of seeded rows have no business refusal
            bad(f"{HOME_USERS[role]} ({role}, allowed)", "a successful read", r)
    return problems


# Mismatches found and reported to the owners of these routes; listed here so the matrix stays green
# meanwhile. Once a route behaves, the test says so and its entry must go (a strict expected failure).
KNOWN_ISSUES: dict[tuple[str, str], str] = {}


@pytest.mark.timeout(900)
async def test_authorisation_matrix(world: World) -> None:
    """Every rule against every role; all mismatches are reported together."""
    routes = app_routes(world.app)
    problems: list[str] = []
    fixed: list[str] = []
    for method, path in sorted(routes & RULES.keys(), key=lambda mp: (mp[1], mp[0])):
        found = await check_route(world, method, path, RULES[(method, path)])
        if (method, path) not in KNOWN_ISSUES:
            problems += found
        elif not found:
            fixed.append(f"{method} {path}")
    assert not problems, f"{len(problems)} authorisation mismatches:\n" + "\n".join(problems)
    assert not fixed, f"these routes now behave: remove them from KNOWN_ISSUES: {fixed}"
    # Whatever anyone was shown, on any route, in any role: never a secret of the server.
    assert len(world.recorder.bodies) > 1000
    for secret in (WEBHOOK_SECRET, SECRET, "$argon2"):
        assert not world.recorder.containing(secret), f"a response carried {secret[:12]}…"
