"""Recusal in emergency aid (issue 15, point 6): the review's relatives check, applied to an emergency event.

At registration the workflow calls the review's own activity (`ReviewContract.check_declared_relatives`, one
matcher for both): staff whose register of near relatives names a household member, or whose own ID number the
applicant declared, are barred from the event (no payment, escalation, documents, close or approval of a repeat:
`rules.emergency_actions.refusal` answers `recused`); the web app refuses their registration before it starts
(`register_refusal`). A relative declared by name only leaves a namesake warning, which a township caseworker or
district officer settles (`resolve_namesake`, as in the review); one no account matches is filed with the event.

Events registered before the patch `emergency-relatives` ran no check, and replay so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from temporalio import workflow

from workflows.common import ACTIVITY
from workflows.journal import Journal
from workflows.relatives_journal import RelativesJournal

with workflow.unsafe.imports_passed_through():
    from rules.emergency_actions import ACTIONS, EmergencyAction
    from schemas.contracts import ReviewContract
    from schemas.emergency import EmergencyAck, EmergencyStart
    from schemas.relatives import DeclaredRelative, DeclaredRelativesIn, NamesakeResolution, RelativesCheck

if TYPE_CHECKING:
    from collections.abc import Callable

EMERGENCY_RELATIVES = "emergency-relatives"
RESOLVE = ACTIONS[EmergencyAction.RESOLVE_NAMESAKE]


class EmergencyRelatives(RelativesJournal):
    """The relatives check and `resolve_namesake` of `EmergencyWorkflow`, which holds the state they record."""

    start: EmergencyStart
    event_id: str
    journal: Journal
    ack: Callable[..., EmergencyAck]
    check: Callable[..., None]
    AFTER_MATCH = "不得审批、发放本事件的救助"

    def declared_relatives(self) -> list[DeclaredRelative]:
        return self.start.declared_relatives

    async def check_relatives(self) -> RelativesCheck | None:
        """近亲属备案比对 of the household (the applicant and the members whose ID numbers were given) and the
        relatives the applicant declared; None for events registered before the check."""
        if not workflow.patched(EMERGENCY_RELATIVES):
            return None
        hh = self.start.household
        return await workflow.execute_activity_method(
            ReviewContract.check_declared_relatives,
            DeclaredRelativesIn(
                case_id=self.event_id,
                township_code=hh.township_code,
                id_numbers=[hh.id_number, *hh.member_id_numbers],
                declared=self.start.declared_relatives,
            ),
            **ACTIVITY,
        )

    def note_relatives(self, found: RelativesCheck | None) -> None:
        if found is None:
            return
        if found.barred:
            self.bar(found.barred)
        if found.namesakes:
            self.warn(found.namesakes)
        if found.unmatched:
            self.file_relatives([self.start.declared_relatives[i] for i in found.unmatched])

    @workflow.update(name=RESOLVE.update)
    async def resolve_namesake(self, a: NamesakeResolution) -> EmergencyAck:
        """同名提示核实 (`RelativesJournal.settle_namesake`)."""
        key = self.settle_namesake(a)
        await self.journal.persist()
        return self.ack(key)

    @resolve_namesake.validator
    def _v_resolve_namesake(self, a: NamesakeResolution) -> None:
        self.check(EmergencyAction.RESOLVE_NAMESAKE, a.actor)
        self.check_namesake(a, self.start.household.village_code, this="本事件", that="该急难事件")
