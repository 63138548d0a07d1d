"""Event ids carry the Beijing date (issue 17, point 7): registered at 00:30 Beijing on 12-04, which is still
12-03 in UTC, the new event's id says 20261204, and its record shows the Beijing time."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from tests.support.clients import login
from tests.support.emergency import VILLAGE
from tests.test_emergency_api import household


@pytest.mark.start_at(datetime(2026, 12, 3, 16, 30, tzinfo=UTC))  # 00:30 Beijing on 12-04
@pytest.mark.web(temporal="review_env")
async def test_a_new_event_id_carries_the_beijing_date(web: httpx.AsyncClient) -> None:
    cadre = await login(web, "shipo_cun1")
    body = {"kind": "fire", "description": "夜间房屋失火", "household": household()}
    r = await web.post("/api/emergencies", headers=cadre, json=body)
    assert r.status_code == 201, r.text
    event_id = r.json()["event"]["event_id"]
    assert event_id.startswith(f"JJN-{VILLAGE}-20261204")
    page = await web.get(f"/emergencies/{event_id}", headers=cadre)
    assert "2026-12-04 00:30" in page.text and "UTC" not in page.text
