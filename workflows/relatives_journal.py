"""What the relatives check (近亲属备案比对) leaves on a review case and on an emergency event alike: staff barred,
namesake warnings (同名提示) and their settling, declared relatives without an account filed (近亲属备案). The
review (`workflows/review_relatives.py`) and emergency aid (`workflows/emergency_relatives.py`) run the same check
(the activity `check_declared_relatives`) and record it here; only what follows a match differs (`AFTER_MATCH`:
the review's district home visit).
"""

from __future__ import annotations

from temporalio import workflow

from workflows.common import refuse
from workflows.journal import Journal

with workflow.unsafe.imports_passed_through():
    from rules.progress import NAMESAKE_DISMISSED, RELATIVES_NAMESAKE
    from rules.recusal import namesake_refusal
    from schemas.identity import mask_id
    from schemas.relatives import DeclaredRelative, FiledRelative, Namesake, NamesakeResolution, RelativesMatch
    from schemas.staff import Actor

# What a namesake warning's entry keeps (the event log): who was warned about, and for which relative.
NAMESAKE_FIELDS = {"declared", "staff_name", "relation", "workplace", "username", "full_name", "role", "place_code"}


class RelativesJournal:
    """The relatives check's record on a workflow that holds `barred`, `namesakes` and `relatives_filed`."""

    journal: Journal
    barred: dict[str, RelativesMatch]
    namesakes: list[Namesake]
    relatives_filed: list[FiledRelative]
    AFTER_MATCH = ""  # what a match calls for besides recusal (the review: the district's home visit)
    AFTER_FILING = ""  # what a filed relative calls for

    def declared_relatives(self) -> list[DeclaredRelative]:
        raise NotImplementedError

    def bar(self, matches: list[RelativesMatch]) -> None:
        self.barred |= {m.username: m for m in matches}
        self.journal.note(
            "relatives_matched",
            None,
            {"barred": [m.model_dump() for m in matches]},
            "近亲属备案比对命中："
            + "、".join(f"{m.full_name}（{m.reason}）" for m in matches)
            + "；相关人员回避"
            + (f"，{self.AFTER_MATCH}" if self.AFTER_MATCH else ""),
        )

    def warn(self, namesakes: list[Namesake]) -> None:
        self.namesakes = namesakes
        self.journal.note(
            RELATIVES_NAMESAKE,
            None,
            {"namesakes": [n.model_dump(include=NAMESAKE_FIELDS) for n in namesakes]},
            "同名提示："
            + "；".join(
                f"申请人申报的近亲属 {n.staff_name}（{n.relation}）与 {n.full_name}（{n.username}）同名"
                for n in namesakes
            )
            + "。未自动回避，请经办人核实是否本人",
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
            + f" 在系统中没有账号，已备案{self.AFTER_FILING}",
        )

    def settle_namesake(self, a: NamesakeResolution) -> str:
        """同名提示核实: the user is the relative declared (barred from now on) or merely bears the name; when no
        user of the name is left to be the relative, the relative is filed as one without an account. Returns
        the key of the entry."""
        n = next((n for n in self.namesakes if n.username == a.username and n.resolution == "pending"), None)
        if n is None:  # settled by another update validated in the same workflow task
            raise refuse("invalid", f"关于 {a.username} 的同名提示已核实")
        n.resolution = "same_person" if a.same_person else "not_same_person"
        n.resolved_by = a.actor.username
        declared = f"{n.staff_name}（{n.relation}）"
        if a.same_person:
            match = RelativesMatch(
                username=n.username, full_name=n.full_name, reason=f"申请人申报的近亲属（{n.relation}），经核实为本人"
            )
            self.barred[n.username] = match
            return self.journal.note(
                "relatives_matched",
                a.actor,
                {"barred": [match.model_dump()], "namesake": n.username, "note": a.note},
                f"同名提示核实：{n.full_name}（{n.username}）是申请人申报的近亲属 {declared}，应当回避"
                + (f"；{self.AFTER_MATCH}" if self.AFTER_MATCH else ""),
            )
        key = self.journal.note(
            NAMESAKE_DISMISSED,
            a.actor,
            {"username": n.username, "staff_name": n.staff_name, "relation": n.relation, "note": a.note},
            f"同名提示核实：{n.full_name}（{n.username}）不是申请人申报的近亲属 {declared}",
        )
        same = [m for m in self.namesakes if m.declared == n.declared]
        if all(m.resolution == "not_same_person" for m in same):
            self.file_relatives([self.declared_relatives()[n.declared]], a.actor)
        return key

    def check_namesake(self, a: NamesakeResolution, place: str, *, this: str = "本案", that: str = "该案件") -> None:
        """Refuse settling the warning about `a.username` on a case or event at `place` (`this` and `that`, as the
        refusals name it) that has none, by whom `rules.recusal` keeps from it, or once it is settled."""
        found = [n for n in self.namesakes if n.username == a.username]
        if not found:
            raise refuse("invalid", f"{this}没有关于 {a.username} 的同名提示")
        why = namesake_refusal(
            a.actor.role.value,
            a.actor.place_code,
            a.actor.username,
            case_place=place,
            namesake=a.username,
            barred=frozenset(self.barred),
        )
        match why:
            case "wrong_role":
                raise refuse(why, f"同名提示须由乡镇经办人或区民政局工作人员核实，您是{a.actor.role.label}")
            case "out_of_jurisdiction":
                raise refuse(why, f"{that}不在您的辖区内")
            case "recused":
                raise refuse(why, "您与申请人家庭或该同名提示有关，依规应当回避，不能核实")
        if all(n.resolution != "pending" for n in found):
            raise refuse("invalid", f"关于 {a.username} 的同名提示已核实")
