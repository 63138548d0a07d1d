"""What comes into a review case from elsewhere: a calendar import (the deadline is counted again), a complaint
about the case (the district must visit the household itself) and an objection or complaint through 12349."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING

from temporalio import workflow

from workflows.journal import Journal
from workflows.review_patches import COMPLAINT_IN_NOTICE, COMPLAINT_NEW_VISIT, COMPLAINT_UNNAMED, since

with workflow.unsafe.imports_passed_through():
    from rules.progress import DISTRICT_VISIT_REQUIRED
    from rules.stages import COMPLAINT, Action, Stage
    from schemas.policy import Policy
    from schemas.review import Decision, ObjectionFiled, ReviewNames

if TYPE_CHECKING:
    from workflows.review_clock import ReviewClock


class ReviewNews:
    """The signal handlers of `ReviewWorkflow`, which holds the state they read and change."""

    stage: Stage
    policy: Policy | None
    journal: Journal
    clock: ReviewClock
    complaints: list[str]
    objections: int
    decision: Decision | None
    decided_at: datetime | None
    notice_ends_at: datetime | None
    home_visit_done: bool
    district_visit_done: bool
    neighbour_done: bool
    hearing_done: bool
    hand_over: Callable[[str], Awaitable[None]]

    @workflow.signal(name=ReviewNames.CALENDAR_CHANGED)
    def calendar_changed(self) -> None:
        """A calendar import changed the working days: recompute this case's deadline."""
        self.clock.calendar_changed()

    @workflow.signal(name=ReviewNames.COMPLAINT_FILED)
    async def complaint_filed(self, complaint_no: str) -> None:
        """A complaint about this case: the district must now visit the household itself; a case already
        past the investigation goes back to it, and one in public notice too, as after an objection."""
        await workflow.wait_condition(lambda: self.policy is not None)
        if self.stage is Stage.PUBLIC_NOTICE and since(COMPLAINT_IN_NOTICE):
            await self.objected_via_front_door(ObjectionFiled(ref=complaint_no, kind="complaint", objector="投诉人"))
            return
        self.complaints.append(complaint_no)
        if workflow.patched(COMPLAINT_NEW_VISIT):
            self.district_visit_done = False  # the complaint asks for a visit of its own, even after an earlier one
        if self.stage in (Stage.HEARING, Stage.DECISION):
            self.hearing_done = False
        await self.hand_over(COMPLAINT)
        if since(COMPLAINT_UNNAMED):
            self.journal.note(DISTRICT_VISIT_REQUIRED, None, {}, "本案须由区民政局入户调查")
        else:
            self.journal.note(
                "complaint_filed",
                None,
                {"complaint_no": complaint_no},
                f"收到关于本案的投诉（{complaint_no}），须由区民政局入户调查",
            )
        await self.journal.persist()

    @workflow.signal(name=ReviewNames.OBJECTION_FILED)
    async def objection_filed(self, o: ObjectionFiled) -> None:
        """An objection or complaint that came through 12349: during the public notice it is a 公示异议 like
        one raised at the counter (and the district visits); before, a complaint."""
        await workflow.wait_condition(lambda: self.policy is not None)
        if self.stage is Stage.PUBLIC_NOTICE:
            await self.objected_via_front_door(o)
        elif not self.stage.closed:
            await self.complaint_filed(o.ref)

    async def objected_via_front_door(self, o: ObjectionFiled) -> None:
        """Back to the investigation as after an objection at the counter (route: reinvestigate), and the
        district must visit the household itself."""
        self.objections += 1
        self.decision = None
        self.decided_at = None
        self.notice_ends_at = None
        self.home_visit_done = self.neighbour_done = self.hearing_done = False
        self.district_visit_done = False
        self.complaints.append(o.ref)
        await self.hand_over(COMPLAINT)
        what = "异议" if o.kind == "objection" else "投诉"
        self.journal.note(
            Action.OBJECTION,
            None,
            {"objector": o.objector, "content": o.content, "route": "reinvestigate", "via": "12349", "ref": o.ref},
            f"公示期间经 12349 收到{what}（{o.ref}）{('：' + o.content) if o.content else ''}；"
            "重新调查核实，须由区民政局入户调查，再重新审核确认并公示",
        )
        await self.journal.persist()
