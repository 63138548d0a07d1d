"""Issue 16, point 11, the district's supervision: the places × roles matrix (tests/support/authz.py says how a
route's answers are stated) over the rows seeded in 石婆店镇 and 顺河镇 (tests/security/conftest.py), with a real worker
for the sample draw. The district-wide pages (the front door's overview, the roll-out, the fund declarations, the
monthly sample, the access log) are the district's this deployment serves: the staff of a second district get 403
`out_of_jurisdiction`; the pages filtered by place show them nothing of it.

Point 9's administrator reads no case file: the overview (`/dashboard`) and the roll-out stay theirs because they
show counts per township, never a case, a name or an ID number (checked here on every answer)."""

from __future__ import annotations

import httpx
import pytest

from schemas.identity import mask_id
from tests.security.conftest import World
from tests.support.authz import T1, Matrix, Route, holders, shown_to
from tests.support.clock import beijing
from webapp.authz import who

pytestmark = pytest.mark.start_at(beijing(2026, 12, 4, 9, 0))

HOME = ("qu_minzheng", "qu_jiandu")
# A payload as the Temporal Web UI sends it (protobuf JSON): the JSON string "王", base64.
PLAIN = {"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "IueOiyI="}]}
OFFICER = ("qu_minzheng",)


def _no_case_data(w: World):
    """An effect: counts only, nothing that names a case or a person of the seeded rows."""
    s = w.seeds
    tells = (s.case, s.shunhe_case, "石婆店申请人", "顺河申请人", mask_id(s.person_id), s.person_id)

    async def effect(user: str, r: httpx.Response) -> None:
        told = [t for t in tells if t in r.text]
        assert not told, f"case data shown: {told}"

    return effect


async def _decoded(user: str, r: httpx.Response) -> None:
    assert r.json() == PLAIN, r.text


def _also(*effects):
    async def effect(user: str, r: httpx.Response) -> None:
        for e in effects:
            await e(user, r)

    return effect


@pytest.mark.timeout(300)
async def test_district_supervision_by_place(world: World, matrix: Matrix) -> None:
    w = world
    s = w.seeds
    problems: list[str] = []
    counts_only = _no_case_data(w)

    # District-wide: the deployment's district only.
    overview = who("frontdoor.overview")
    problems += await matrix.check(
        Route("GET", "/api/frontdoor/overview", overview, ok=HOME, effect=shown_to(HOME, f'"{T1}"'))
    )
    problems += await matrix.check(Route("GET", "/frontdoor/district", overview, ok=HOME))
    board = (*HOME, "admin")
    problems += await matrix.check(
        Route(
            "GET",
            "/dashboard/rollout",
            who("rollout.view"),
            ok=board,
            effect=_also(counts_only, shown_to(board, "石婆店镇")),
        )
    )
    problems += await matrix.check(
        Route(
            "POST",
            "/dashboard/rollout/switch",
            who("rollout.switch"),
            ok=("qu_minzheng", "admin"),
            status=303,
            form=lambda user: {
                "township": T1,
                "level": "district" if user == "qu_minzheng" else "township",
                "effective_from": "2027-01-01" if user == "qu_minzheng" else "2027-02-01",
            },
        )
    )
    declarations = who("declarations.view")
    month = s.declaration_month
    for url in (
        "/supervision/declarations",
        f"/supervision/declarations/{month}/1",
        f"/supervision/declarations/{month}/1/export.csv",
    ):
        problems += await matrix.check(Route("GET", url, declarations, ok=HOME))
    problems += await matrix.check(
        Route(
            "POST",
            "/supervision/declarations/draft",
            who("declarations.draft"),
            ok=OFFICER,
            status=303,
            form={"month": "2026-10"},
        )
    )
    problems += await matrix.check(
        Route(
            "POST",
            "/supervision/sampling/draw",
            who("sampling.draw"),
            ok=OFFICER,
            status=303,
            form={"month": "2026-10"},
        )
    )
    problems += await matrix.check(Route("GET", "/supervision/access-log", who("access_log.view"), ok=("qu_jiandu",)))

    # The Temporal Web UI's codec: payloads bound to no workflow (sealed by `encode`) are the district's to read.
    decode = who("workflow.decode")
    sealed = (await matrix.call("qu_minzheng", Route("POST", "/api/codec/encode", decode, json=PLAIN))).json()
    assert sealed["payloads"][0]["data"] != PLAIN["payloads"][0]["data"]
    problems += await matrix.check(Route("POST", "/api/codec/decode", decode, ok=HOME, json=sealed, effect=_decoded))

    # Filtered by place: a second district is shown nothing of this one.
    problems += await matrix.check(
        Route(
            "GET",
            "/dashboard",
            who("dashboard.view"),
            ok=holders(who("dashboard.view")),
            effect=_also(counts_only, shown_to(board, "石婆店镇")),
        )
    )
    problems += await matrix.check(
        Route("GET", "/overdue", who("overdue.view"), ok=holders(who("overdue.view")), effect=shown_to(HOME, s.case))
    )
    sampling = who("sampling.view")
    problems += await matrix.check(
        Route(
            "GET",
            f"/supervision/sampling?month={month}",
            sampling,
            ok=holders(sampling),
            effect=shown_to(HOME, s.recheck),
        )
    )
    # a re-check of another district's case does not exist for its staff
    problems += await matrix.check(
        Route("GET", f"/supervision/rechecks/{s.recheck}", sampling, ok=HOME, hidden=("jinan_minzheng", "jinan_jiandu"))
    )
    for url, action in (
        ("/supervision/conflicts", "conflicts.view"),
        ("/supervision/digest", "digest.view"),
        ("/supervision/reviews", "reviews.view"),
    ):
        problems += await matrix.check(Route("GET", url, who(action), ok=holders(who(action))))
    assert not problems, f"{len(problems)} mismatches:\n" + "\n".join(problems)
    assert matrix.tried == 288  # every caller on every route above: none left out

    # What the allowed calls did: two new policy versions (the district's switch, the administrator's back), a
    # the October declaration drafted by the district's officer, the October sample drawn.
    assert await w.pool.fetchval("select max(version) from policy_versions") == 3
    drafted = await w.pool.fetch("select version, created_by from fund_declarations where month = '2026-10'")
    assert [tuple(r) for r in drafted] == [(1, "qu_minzheng")]
    assert await w.pool.fetchval("select count(*) from sampling_draws where month = '2026-10'") == 1
