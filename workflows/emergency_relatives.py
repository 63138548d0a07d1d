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

from workflows.common import ACTIVITY, refuse
from workflows.journal import Journal

with workflow.unsafe.imports_passed_through():
    from rules.emergency_actions import ACTIONS, EmergencyAction
    from rules.recusal import namesake_refusal
    from schemas.contracts import ReviewContract
    from schemas.emergency import EmergencyAck, EmergencyStart
    from schemas.identity import mask_id
    from schemas.relatives import (
        DeclaredRelative,
        DeclaredRelativesIn,
        FiledRelative,
        Namesake,
        NamesakeResolution,
        RelativesCheck,
        RelativesMatch,
    )
    from schemas.staff import Actor

if TYPE_CHECKING:
    from collections.abc import Callable

EMERGENCY_RELATIVES = "emergency-relatives"
RESOLVE = ACTIONS[EmergencyAction.RESOLVE_NAMESAKE]


class EmergencyRelatives:
    """The relatives check and `resolve_namesake` of `EmergencyWorkflow`, which holds the state they record."""

    start: EmergencyStart
    event_id: str
    journal: Journal
    barred: dict[str, RelativesMatch]
    namesakes: list[Namesake]
    relatives_filed: list[FiledRelative]
    ack: Callable[..., EmergencyAck]
    check: Callable[..., None]

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
            self.barred |= {m.username: m for m in found.barred}
            self.journal.note(
                "relatives_matched",
                None,
                {"barred": [m.model_dump() for m in found.barred]},
                "近亲属备案比对命中："
                + "、".join(f"{m.full_name}（{m.reason}）" for m in found.barred)
                + "；相关人员回避，不得审批、发放本事件的救助",
            )
        if found.namesakes:
            self.namesakes = found.namesakes
            self.journal.note(
                "relatives_namesake",
                None,
                {"namesakes": [n.model_dump() for n in found.namesakes]},
                "同名提示："
                + "；".join(
                    f"申报的近亲属 {n.staff_name}（{n.relation}）与 {n.full_name}（{n.username}）同名"
                    for n in found.namesakes
                )
                + "。未自动回避，请经办人核实是否本人",
            )
        if found.unmatched:
            self.file_relatives([self.start.declared_relatives[i] for i in found.unmatched])

    def file_relatives(self, declared: list[DeclaredRelative], actor: Actor | None = None) -> None:
        """近亲属备案 of declared relatives without an account: kept with the event (ID numbers masked)."""
        filed = [
            FiledRelative(
                staff_name=r.staff_name,
                relation=r.relation,
                workplace=r.workplace,
                id_number_masked=mask_id(r.id_number) if r.id_number else "",
            )
            for r in declared
        ]
        self.relatives_filed += filed
        self.journal.note(
            "relatives_declared",
            actor,
            {"declared": [f.model_dump() for f in filed]},
            "近亲属备案：申报的近亲属 "
            + "、".join(f"{f.staff_name}（{f.relation}）" for f in filed)
            + " 在系统中没有账号，已备案",
        )

    @workflow.update(name=RESOLVE.update)
    async def resolve_namesake(self, a: NamesakeResolution) -> EmergencyAck:
        """同名提示核实: the user is the declared relative (barred from now on) or merely bears the name."""
        n = next((n for n in self.namesakes if n.username == a.username and n.resolution == "pending"), None)
        if n is None:  # settled by another update validated in the same workflow task
            raise refuse("invalid", f"关于 {a.username} 的同名提示已核实")
        n.resolution = "same_person" if a.same_person else "not_same_person"
        n.resolved_by = a.actor.username
        declared = f"{n.staff_name}（{n.relation}）"
        if a.same_person:
            match = RelativesMatch(
                username=n.username, full_name=n.full_name, reason=f"申报的近亲属（{n.relation}），经核实为本人"
            )
            self.barred[n.username] = match
            key = self.journal.note(
                "relatives_matched",
                a.actor,
                {"barred": [match.model_dump()], "namesake": n.username, "note": a.note},
                f"同名提示核实：{n.full_name}（{n.username}）是申报的近亲属 {declared}，应当回避",
            )
        else:
            key = self.journal.note(
                "namesake_dismissed",
                a.actor,
                {"username": n.username, "staff_name": n.staff_name, "relation": n.relation, "note": a.note},
                f"同名提示核实：{n.full_name}（{n.username}）不是申报的近亲属 {declared}",
            )
            same = [m for m in self.namesakes if m.declared == n.declared]
            if all(m.resolution == "not_same_person" for m in same):
                self.file_relatives([self.start.declared_relatives[n.declared]], a.actor)
        await self.journal.persist()
        return self.ack(key)

    @resolve_namesake.validator
    def _v_resolve_namesake(self, a: NamesakeResolution) -> None:
        self.check(EmergencyAction.RESOLVE_NAMESAKE, a.actor)
        found = [n for n in self.namesakes if n.username == a.username]
        if not found:
            raise refuse("invalid", f"本事件没有关于 {a.username} 的同名提示")
        why = namesake_refusal(
            a.actor.role.value,
            a.actor.place_code,
            a.actor.username,
            case_place=self.start.household.village_code,
            namesake=a.username,
            barred=frozenset(self.barred),
        )
        if why == "recused":
            raise refuse(why, "您与求助人家庭或该同名提示有关，依规应当回避，不能核实")
        if all(n.resolution != "pending" for n in found):
            raise refuse("invalid", f"关于 {a.username} 的同名提示已核实")
