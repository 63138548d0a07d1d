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

with workflow.unsafe.imports_passed_through():
    from rules.recusal import namesake_refusal
    from rules.stages import Stage
    from schemas.contracts import ReviewContract
    from schemas.identity import mask_id
    from schemas.policy import Policy
    from schemas.relatives import (
        DeclaredRelative,
        DeclaredRelativesIn,
        FiledRelative,
        Namesake,
        NamesakeResolution,
        RelativesCheckIn,
        RelativesMatch,
    )
    from schemas.review import ActionAck, CaseError, ReviewNames, ReviewStart
    from schemas.staff import Actor

if TYPE_CHECKING:
    from collections.abc import Callable

# What a namesake warning's event keeps (the case's event log): who was warned about, and for which relative.
NAMESAKE_FIELDS = {"declared", "staff_name", "relation", "workplace", "username", "full_name", "role", "place_code"}
# Cases started before this patch barred every namesake of a declared relative and ignored one without an
# account; since, a declared ID number bars its owner, a name alone only warns, and every declaration is filed
# and calls for the district's own home visit.
RELATIVES_BY_ID_NUMBER = "relatives-by-id-number"


class ReviewRelatives:
    """The relatives check and `resolve_namesake` of `ReviewWorkflow`, which holds the state they read and record."""

    start: ReviewStart
    case_id: str
    place: str
    stage: Stage
    policy: Policy | None
    accepted_on: date | None
    journal: Journal
    barred: dict[str, RelativesMatch]
    namesakes: list[Namesake]
    relatives_filed: list[FiledRelative]
    relatives_declared: bool
    ack: Callable[[str], ActionAck]

    async def check_relatives(self) -> None:
        """近亲属备案比对: staff related to the household are barred, and the district must visit it. Staff
        whose register names a member, or whose own ID number the applicant declared, are barred at once; a
        relative declared by name only leaves a namesake warning for each user of that name, which a caseworker
        settles (`resolve_namesake`); one no account matches is filed with the case. Any declaration calls for
        the district's own home visit."""
        app = self.start.application
        if not workflow.patched(RELATIVES_BY_ID_NUMBER):
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
            self.namesakes = found.namesakes
            self.journal.note(
                "relatives_namesake",
                None,
                {"namesakes": [n.model_dump(include=NAMESAKE_FIELDS) for n in found.namesakes]},
                "同名提示："
                + "；".join(
                    f"申请人申报的近亲属 {n.staff_name}（{n.relation}）与 {n.full_name}（{n.username}）同名"
                    for n in found.namesakes
                )
                + "。未自动回避，请经办人核实是否本人",
            )
        if found.unmatched:
            self.file_relatives([app.declared_relatives[i] for i in found.unmatched])
        await self.journal.persist()

    def bar(self, matches: list[RelativesMatch]) -> None:
        self.barred |= {m.username: m for m in matches}
        self.journal.note(
            "relatives_matched",
            None,
            {"barred": [m.model_dump() for m in matches]},
            "近亲属备案比对命中："
            + "、".join(f"{m.full_name}（{m.reason}）" for m in matches)
            + "；相关人员回避，须由区民政局入户调查",
        )

    def file_relatives(self, declared: list[DeclaredRelative], actor: Actor | None = None) -> None:
        """近亲属备案 of declared relatives without an account: kept with the case (ID numbers masked)."""
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
            "近亲属备案：申请人申报的近亲属 "
            + "、".join(f"{f.staff_name}（{'，'.join(x for x in (f.relation, f.workplace) if x)}）" for f in filed)
            + " 在系统中没有账号，已备案；须由区民政局入户调查",
        )

    @workflow.update(name=ReviewNames.RESOLVE_NAMESAKE)
    async def resolve_namesake(self, a: NamesakeResolution) -> ActionAck:
        """同名提示核实: the user is the relative declared (barred from now on) or merely bears the name; when no
        user of the name is left to be the relative, the relative is filed as one without an account."""
        n = next((n for n in self.namesakes if n.username == a.username and n.resolution == "pending"), None)
        if n is None:  # settled by another update validated in the same workflow task
            raise refuse(CaseError.INVALID, f"关于 {a.username} 的同名提示已核实")
        n.resolution = "same_person" if a.same_person else "not_same_person"
        n.resolved_by = a.actor.username
        declared = f"{n.staff_name}（{n.relation}）"
        if a.same_person:
            match = RelativesMatch(
                username=n.username, full_name=n.full_name, reason=f"申请人申报的近亲属（{n.relation}），经核实为本人"
            )
            self.barred[n.username] = match
            key = self.journal.note(
                "relatives_matched",
                a.actor,
                {"barred": [match.model_dump()], "namesake": n.username, "note": a.note},
                f"同名提示核实：{n.full_name}（{n.username}）是申请人申报的近亲属 {declared}，应当回避；"
                "须由区民政局入户调查",
            )
        else:
            key = self.journal.note(
                "namesake_dismissed",
                a.actor,
                {"username": n.username, "staff_name": n.staff_name, "relation": n.relation, "note": a.note},
                f"同名提示核实：{n.full_name}（{n.username}）不是申请人申报的近亲属 {declared}",
            )
            same = [m for m in self.namesakes if m.declared == n.declared]
            if all(m.resolution == "not_same_person" for m in same):
                self.file_relatives([self.start.application.declared_relatives[n.declared]], a.actor)
        await self.journal.persist()
        return self.ack(key)

    @resolve_namesake.validator
    def _v_resolve_namesake(self, a: NamesakeResolution) -> None:
        if self.policy is None or self.stage.closed:
            raise refuse(CaseError.WRONG_STAGE, f"当前阶段为「{self.stage.label}」，不能核实同名提示")
        found = [n for n in self.namesakes if n.username == a.username]
        if not found:
            raise refuse(CaseError.INVALID, f"本案没有关于 {a.username} 的同名提示")
        why = namesake_refusal(
            a.actor.role.value,
            a.actor.place_code,
            a.actor.username,
            case_place=self.place,
            namesake=a.username,
            barred=frozenset(self.barred),
        )
        match why:
            case "wrong_role":
                raise refuse(why, f"同名提示须由乡镇经办人或区民政局工作人员核实，您是{a.actor.role.label}")
            case "out_of_jurisdiction":
                raise refuse(why, "该案件不在您的辖区内")
            case "recused":
                raise refuse(why, "您与申请人家庭或该同名提示有关，依规应当回避，不能核实")
        if all(n.resolution != "pending" for n in found):
            raise refuse(CaseError.INVALID, f"关于 {a.username} 的同名提示已核实")
