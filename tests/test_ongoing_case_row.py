"""After an ongoing review adjusts or stops the benefit, the case shows what the recipients register says now, the
one source (audit L1): the API's case, the case page and the case file PDF print the current monthly amount and
the stop, not the enrolment's amount."""

from __future__ import annotations

import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import asyncpg
from temporalio.client import Client

from db import cases_repo, recipients_repo
from schemas.supervision import OngoingApplied, ReviewDecision
from tests.support.clients import app_client, log_in, login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.factories import actor
from tests.support.supervision import seed_case
from tests.test_ongoing_duties import SHIPO, propose
from webapp.supervision.history import case_file_data


async def review(pool: asyncpg.Pool, cycle: int, due: date, outcome: str, old: str, new: str | None = None) -> None:
    """A review of AMT-1 decided by the township's approver, applied to the register as the workflow applies it."""
    reasons = {"adjust": "子女就业，收入增加", "stop": "家庭人均收入已超过保障标准"}[outcome]
    applied = OngoingApplied(
        review_key=f"AMT-1-{cycle}",
        case_id="AMT-1",
        due_on=due,
        finding=propose(actor("shipo_jingban"), outcome, new, reasons),
        old_amount=Decimal(old),
        decision=ReviewDecision(actor=actor("shipo_shenpi"), agree=True),
        level="township",
    )
    async with pool.acquire() as conn:
        await recipients_repo.apply_review(conn, applied)


def pdf_text(body: bytes, tmp_path: Path) -> str:
    pdf = tmp_path / "casefile.pdf"
    pdf.write_bytes(body)
    return subprocess.run(["pdftotext", "-layout", pdf, "-"], check=True, capture_output=True, text=True).stdout


async def shown(pool: asyncpg.Pool, temporal: Client, tmp_path: Path) -> tuple[dict, str, str, str]:
    """What the API, the case page, the case file's facts and its PDF say of the benefit."""
    async with app_client(pool, temporal) as c:
        headers = await login(c, "shipo_jingban", session=False)
        r = await c.get("/api/cases/AMT-1", headers=headers)
        assert r.status_code == 200, r.text
        api = r.json()["case"]
        assert (await log_in(c, "shipo_jingban")).status_code == 303
        page = (await c.get("/cases/AMT-1")).text
        granted = page.split('data-testid="granted">')[1].split("</dd>")[0]
        text = pdf_text((await c.get("/cases/AMT-1/casefile.pdf")).content, tmp_path)
    row = await cases_repo.case_row(pool, "AMT-1")
    facts = dict((await case_file_data(pool, None, row, actor("shipo_jingban"))).facts)
    assert facts["保障类别与金额"] in text
    benefit = {k: api[k] for k in ("category", "monthly_amount", "benefit_status")}
    return benefit, " ".join(granted.split()), facts["保障类别与金额"], text


async def test_the_case_shows_the_amount_and_status_of_the_register(
    ts_env: SkippingEnvironment, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    await seed_case(pool, "AMT-1", SHIPO, beijing(2026, 6, 10, 10, 0), amount_fen=70000, cadence_months=6)
    await pool.execute("update cases set category = 'B', monthly_amount_fen = 70000 where case_id = 'AMT-1'")  # enrol
    benefit, granted, fact, _ = await shown(pool, ts_env.client, tmp_path)
    assert benefit == {"category": "B", "monthly_amount": "700.00", "benefit_status": "active"}
    assert (granted, fact) == ("B · 每月 700.00 元", "B类 每月 700.00 元")

    await review(pool, 1, date(2026, 12, 4), "adjust", "700", "500")
    benefit, granted, fact, text = await shown(pool, ts_env.client, tmp_path)
    assert benefit == {"category": "B", "monthly_amount": "500.00", "benefit_status": "active"}
    assert (granted, fact) == ("B · 每月 500.00 元", "B类 每月 500.00 元")
    assert "700.00" not in fact and "每月 700" not in text

    await review(pool, 2, date(2027, 6, 4), "stop", "500")
    await pool.execute("update recipients set stopped_at = $1 where case_id = 'AMT-1'", beijing(2027, 6, 8, 10, 0))
    benefit, granted, fact, text = await shown(pool, ts_env.client, tmp_path)
    assert benefit == {"category": "B", "monthly_amount": "500.00", "benefit_status": "stopped"}
    assert (
        granted
        == 'B · 每月 500.00 元 <span class="badge bad" data-testid="benefit-stopped">已于 2027-06-08 停发</span>'
    )
    assert fact == "B类 每月 500.00 元（已于 2027-06-08 停发）"
