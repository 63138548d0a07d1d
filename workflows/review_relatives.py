"""The relatives check of a review case (近亲属备案比对) and the namesake warnings it leaves.

At acceptance, staff whose register of relatives names a household member, or whose own ID number the
applicant declared, are barred from the case at once. A relative declared by name only leaves a namesake
warning (同名提示) for each case-working user of that name in the district, which a caseworker or district
officer settles with the update `resolve_namesake`; a declared relative no account matches is filed with the
case (近亲属备案). Any declaration calls for the district's own home visit.

Cases started before the patch `relatives-by-id-number` keep the old activity `check_relatives`, which
barred every namesake and ignored relatives without an account, so their recorded histories replay.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from temporalio import workflow

from workflows.common import ACTIVITY, refuse
from workflows.journal import Journal
from workflows.relatives_journal import RelativesJournal
from workflows.review_patches import RELATIVES_BY_ID_NUMBER, since

with workflow.unsafe.imports_passed_through():
    from rules.stages import Stage
    from schemas.contracts import ReviewContract
    from schemas.policy import Policy
    from schemas.relatives import (
        DeclaredRelative,
        DeclaredRelativesIn,
        NamesakeResolution,
        RelativesCheckIn,
    )
    from schemas.review import ActionAck, CaseError, ReviewNames, ReviewStart

if TYPE_CHECKING:
    from collections.abc import Callable


class ReviewRelatives(RelativesJournal):
    """The relatives check and `resolve_namesake` of `ReviewWorkflow`, which holds the state they read and record."""

    start: ReviewStart
    case_id: str
    place: str
    stage: Stage
    policy: Policy | None
    accepted_on: date | None
    journal: Journal
    relatives_declared: bool
    ack: Callable[[str], ActionAck]
    AFTER_MATCH = "须由区民政局入户调查"
    AFTER_FILING = "；须由区民政局入户调查"

    def declared_relatives(self) -> list[DeclaredRelative]:
        return self.start.application.declared_relatives

    async def check_relatives(self) -> None:
        """近亲属备案比对: staff related to the household are barred, and the district must visit it. Staff
        whose register names a member, or whose own ID number the applicant declared, are barred at once; a
        relative declared by name only leaves a namesake warning for each user of that name, which a caseworker
        settles (`resolve_namesake`); one no account matches is filed with the case. Any declaration calls for
        the district's own home visit."""
        app = self.start.application
        if not since(RELATIVES_BY_ID_NUMBER):
            matches = await workflow.execute_activity_method(
                ReviewContract.check_relatives,
                RelativesCheckIn(
                    case_id=self.case_id,
                    id_numbers=[m.id_number for m in app.household.members],
                    declared_staff_names=[r.staff_name for r in app.declared_relatives],
                ),
                **ACTIVITY,
            )
            if matches:
                self.bar(matches)
                await self.journal.persist()
            return
        found = await workflow.execute_activity_method(
            ReviewContract.check_declared_relatives,
            DeclaredRelativesIn(
                case_id=self.case_id,
                township_code=app.household.township_code,
                id_numbers=[m.id_number for m in app.household.members],
                declared=app.declared_relatives,
            ),
            **ACTIVITY,
        )
        self.relatives_declared = bool(app.declared_relatives)
        if found.barred:
            self.bar(found.barred)
        if found.namesakes:
            self.warn(found.namesakes)
        if found.unmatched:
            self.file_relatives([app.declared_relatives[i] for i in found.unmatched])
        await self.journal.persist()

    @workflow.update(name=ReviewNames.RESOLVE_NAMESAKE)
    async def resolve_namesake(self, a: NamesakeResolution) -> ActionAck:
        """同名提示核实 (`RelativesJournal.settle_namesake`)."""
        key = self.settle_namesake(a)
        await self.journal.persist()
        return self.ack(key)

    @resolve_namesake.validator
    def _v_resolve_namesake(self, a: NamesakeResolution) -> None:
        if self.policy is None or self.stage.closed:
            raise refuse(CaseError.WRONG_STAGE, f"当前阶段为「{self.stage.label}」，不能核实同名提示")
        self.check_namesake(a, self.place)
