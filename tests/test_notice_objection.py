"""An objection from the portal's public notice list reaches the case (audit: the list shows no case number, and a
complaint reached a case only by its number typed in, so a neighbour's objection stayed a free-standing complaint
and the household was enrolled when the notice ran out). Each row links to the complaint form with an opaque,
signed, expiring reference to its notice; the complaint filed with it is linked to the case as its number would
link it, and the case goes back to the investigation. A real worker on the time-skipping server, the case decided
at a stated instant."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from schemas.review import CaseState, ReviewNames, workflow_id_for
from tests.support.clients import SHIPO, SHUNHE, app_client, csrf_token
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.frontdoor import PERSON, resident
from tests.support.workflows import eventually
from tests.test_public_notice import in_notice

START = beijing(2026, 11, 24, 9, 30)  # a Tuesday: decided that morning, its notice running 11-25 to 12-01
OBJECTION = "我是邻居，该户家中有两辆货车在跑运输，收入不低，请核实"
CONCERNED = "对以下公示提出异议：石婆店镇示范村一 · 王**"

pytestmark = [pytest.mark.start_at(START), pytest.mark.web(temporal="review_env")]


def hidden(page: str, name: str) -> str:
    return html.unescape(re.search(rf'name="{name}" value="([^"]*)"', page).group(1))


async def objection_form(public: httpx.AsyncClient, case_id: str) -> tuple[str, str]:
    """The public list of 石婆店镇, and the complaint form its one row's objection link opens: (its href, the form)."""
    listed = await public.get(f"/portal/notices?township={SHIPO}")
    assert listed.status_code == 200
    assert listed.text.count('data-testid="notice-row"') == 1
    link = re.search(r'<a href="([^"]+)" data-testid="object-row-link">对此户提出异议</a>', listed.text)
    assert link, listed.text
    href = html.unescape(link.group(1))
    assert href.startswith("/portal/complain?notice=")
    assert case_id not in href and PERSON not in href  # opaque: neither the case number nor anything personal
    form = await public.get(href)
    assert form.status_code == 200
    return href, form.text


@pytest.fixture
async def public(review_env: SkippingEnvironment, pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    """A visitor of the portal (no log-in)."""
    async with app_client(pool, review_env.client) as c:
        yield c


def filled(form: str, **extra: str) -> dict[str, str]:
    return (
        resident(description=OBJECTION, village_code="")
        | {
            "csrftoken": csrf_token(form),
            "idempotency_key": hidden(form, "idempotency_key"),
            "notice": hidden(form, "notice"),
        }
        | extra
    )


async def test_an_objection_from_the_notice_list_sends_the_case_back_to_investigation(
    review_env: SkippingEnvironment, pool: asyncpg.Pool, public: httpx.AsyncClient
) -> None:
    case_id = "OBJ-1"
    await in_notice(review_env, pool, case_id)
    _, form = await objection_form(public, case_id)
    # the form names the notice as the notice does (place and masked name), nothing more
    assert f'<p class="card" data-testid="notice-concerned">{CONCERNED}</p>' in form
    assert case_id not in form and "王大山" not in form
    assert 'name="about_case_id"' not in form  # the case is given by the reference, not typed
    assert f'<option value="{SHIPO}" selected>' in form  # the notice's township, chosen for the objector
    # the objection goes to the township that posted the notice
    elsewhere = await public.post("/portal/complain", data=filled(form, township_code=SHUNHE))
    assert elsewhere.status_code == 422
    refusal = "对公示的异议由公示所在的乡镇（街道）办理，请选择石婆店镇"
    assert f'<p class="field-error" id="township_code-error">{refusal}</p>' in elsewhere.text
    assert f'<p class="card" data-testid="notice-concerned">{CONCERNED}</p>' in elsewhere.text
    assert await pool.fetchval("select count(*) from frontdoor_requests") == 0
    r = await public.post("/portal/complain", data=filled(form))
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("/portal/done?t=")

    complaint = await eventually(
        lambda: pool.fetchrow("select complaint_no, about_case_id, unit_code from complaints"), "the complaint"
    )
    assert (complaint["about_case_id"], complaint["unit_code"]) == (case_id, SHIPO)
    await eventually(
        lambda: pool.fetchval("select 1 from cases where case_id = $1 and stage = 'investigation'", case_id),
        "the case back in investigation",
    )
    handle = review_env.client.get_workflow_handle(workflow_id_for(case_id))
    s = await handle.query(ReviewNames.STATE, result_type=CaseState)
    assert (s.stage, s.objections, s.decision, s.notice_ends_at) == ("investigation", 1, None, None)
    entry = await pool.fetchrow(
        "select stage, payload from case_events where case_id = $1 and kind = 'objection'", case_id
    )
    no = complaint["complaint_no"]
    assert entry["payload"]["via"] == "12349" and entry["payload"]["ref"] == no
    assert entry["payload"]["route"] == "reinvestigate"
    assert entry["payload"]["summary"] == (
        f"公示期间经 12349 收到投诉（{no}）；重新调查核实，须由区民政局入户调查，再重新审核确认并公示"
    )
    # and the case has left the public list
    after = await public.get(f"/portal/notices?township={SHIPO}")
    assert 'data-testid="no-notices"' in after.text


async def test_a_tampered_or_expired_reference_is_refused_and_nothing_is_stored(
    review_env: SkippingEnvironment, pool: asyncpg.Pool, public: httpx.AsyncClient
) -> None:
    case_id = "OBJ-2"
    await in_notice(review_env, pool, case_id)
    invalid = "异议链接无效，请回到公示名单，点击该户的「对此户提出异议」重新打开投诉表"
    _, form = await objection_form(public, case_id)
    good = hidden(form, "notice")
    tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    r = await public.post("/portal/complain", data=filled(form, notice=tampered))
    assert r.status_code == 422
    assert f'<p class="error" role="alert" data-testid="form-error">{invalid}</p>' in r.text
    assert 'data-testid="notice-concerned"' not in r.text and 'name="notice"' not in r.text
    # opened with a tampered reference: the same refusal, no notice named
    opened = await public.get(f"/portal/complain?notice={tampered}")
    assert opened.status_code == 422 and invalid in opened.text
    assert 'data-testid="notice-concerned"' not in opened.text

    # a day and more later (the notice still running) the link has expired
    await review_env.skip_to(beijing(2026, 11, 25, 10, 0))
    late = await public.post("/portal/complain", data=filled(form))
    assert late.status_code == 422
    assert "异议链接已过期，请回到公示名单，点击该户的「对此户提出异议」重新打开投诉表" in late.text

    assert await pool.fetchval("select count(*) from complaints") == 0
    assert await pool.fetchval("select count(*) from frontdoor_requests") == 0
    assert await pool.fetchval("select stage from cases where case_id = $1", case_id) == "public_notice"
    objections = "select count(*) from case_events where case_id = $1 and kind = 'objection'"
    assert await pool.fetchval(objections, case_id) == 0
