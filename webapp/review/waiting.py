"""Whom a review case waits on, since when and by when, for the case page and the inbox's "等待他人".

`rules.waiting.case_waits` says who; the dates are the case's own: a wait began when the case entered its stage
(the applicant's when the clock was paused, the district's data check when the case was accepted, since the
check is requested then), and is due on the case's time limit, the data check's own limit (its policy's
`verification_result_working_days` after acceptance), the refusal notice's delivery date or the notice's end.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from db import events_repo, places_repo
from db.cases_repo import CaseRow
from db.pool import Db
from infra.clock import BEIJING
from rules.calendar import WorkCalendar
from rules.stages import Action, CaseView, Stage
from rules.waiting import APPLICANT, NOTICE, Wait, case_waits
from schemas.policy import Policy
from schemas.review import CaseState
from webapp.review.case_forms import case_view
from webapp.waiting import WaitLine, people, wait_lines


def open_case_view(case: Mapping[str, Any]) -> CaseView:
    """What the rules need to know of an inbox row: the progress columns of `cases` (`OpenCase`), and where the
    decision is taken (`approval_level`, for a case in the decision stage)."""
    return CaseView(
        stage=Stage(case["stage"]),
        place=case["place"],
        paused=case["paused"],
        handled_by=case["handled_by"],
        district_approves=case.get("approval_level") == "district" or case["district_approval"],
        verified=not case["verification_open"],
        escalated=case["overdue"],
        home_visit_done=case["home_visit_done"],
        neighbour_done=case["neighbour_done"],
        district_visit_due=case["district_visit_required"] and not case["district_visit_done"],
    )


async def case_lines(
    db: Db,
    cal: WorkCalendar,
    rows: list[tuple[str, CaseView, datetime, date | None, Policy]],
    today: date,
    *,
    state: CaseState | None = None,
    names: dict[str, str] | None = None,
) -> dict[str, list[WaitLine]]:
    """Each case's wait lines, by case number: `rows` are (case number, view, accepted at, time limit, policy);
    `state` the workflow's state of a single case (the refusal notice's and the notice's dates)."""
    since = await events_repo.waiting_since(db, [r[0] for r in rows])
    waits = {r[0]: case_waits(r[1]) for r in rows}
    places = names if names is not None else await places_repo.names(db)
    named = await people(db, [w for ws in waits.values() for w in ws])
    out = {}
    for case_id, _view, accepted_at, deadline, policy in rows:
        began = since.get(case_id)
        accepted_on = accepted_at.astimezone(BEIJING).date()
        check_due = cal.add_working_days(accepted_on, policy.review.verification_result_working_days).date

        def since_of(w: Wait, began: events_repo.WaitingSince | None = began, accepted: datetime = accepted_at):
            if w.who == APPLICANT:
                return began.paused_at if began else None
            if Action.VERIFICATION_RESULT.value in w.steps:
                return accepted
            return (began.stage_at if began else None) or accepted

        def due_of(w: Wait, deadline: date | None = deadline, check_due: date = check_due) -> date | None:
            if w.who == APPLICANT:
                return None
            if w.who == NOTICE:
                ends = state.notice_ends_at if state else None
                return (ends.astimezone(BEIJING) - timedelta(seconds=1)).date() if ends else None
            if Action.VERIFICATION_RESULT.value in w.steps:
                return check_due
            if Action.REFUSAL_DELIVERED.value in w.steps and state and state.refusal_deliver_by:
                return state.refusal_deliver_by
            return deadline

        out[case_id] = await wait_lines(
            db, cal, waits[case_id], today, since=since_of, due=due_of, names=places, named=named
        )
    return out


async def state_lines(
    db: Db, cal: WorkCalendar, row: CaseRow, state: CaseState | None, policy: Policy, today: date
) -> list[WaitLine]:
    """Whom the case waits on by the workflow's state (none while it cannot be asked)."""
    if state is None:
        return []
    rows = [(row.case_id, case_view(state, policy), row.accepted_at, row.deadline, policy)]
    return (await case_lines(db, cal, rows, today, state=state))[row.case_id]
