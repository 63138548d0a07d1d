"""The review's relatives check (近亲属备案比对): the relatives an applicant declares among staff, what the check
finds (staff barred, namesake warnings, relatives without an account), and a namesake warning's answer.
`schemas.review` carries them in the application and the case's state."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from schemas.identity import ResidentId
from schemas.staff import Actor


class RelativesMatch(BaseModel):
    username: str
    full_name: str
    reason: str


class DeclaredRelative(BaseModel):
    """A close relative of the applicant among caseworkers and village cadres, as the applicant declares."""

    staff_name: str = Field(min_length=1, max_length=30)
    relation: str = Field(min_length=1, max_length=20)
    workplace: str = Field(default="", max_length=60)
    id_number: ResidentId | None = Field(default=None, description="该工作人员本人的身份证号码（申请人知道时填写）")


class DeclaredRelativesIn(BaseModel):
    """The relatives check since the declared relatives carry ID numbers (patch "relatives-by-id-number")."""

    case_id: str
    township_code: str = Field(description="同名提示的范围：该乡镇所在区的工作人员")
    id_numbers: list[str] = Field(description="家庭成员身份证号码（比对工作人员近亲属备案）")
    declared: list[DeclaredRelative]


class RelativesCheckIn(BaseModel):
    case_id: str
    id_numbers: list[str]
    declared_staff_names: list[str]


class Namesake(BaseModel):
    """A namesake warning (同名提示): a relative the applicant declared by name only (`declared`, their place
    in `Application.declared_relatives`) and a user of that name, who is not barred until someone confirms it."""

    declared: int
    staff_name: str
    relation: str
    workplace: str = ""
    username: str
    full_name: str
    role: str
    place_code: str
    resolution: Literal["pending", "same_person", "not_same_person"] = "pending"
    resolved_by: str | None = None


def unsettled(namesakes: list[Namesake]) -> frozenset[str]:
    """The users a namesake warning still names: kept from the case, as if related, until someone settles it."""
    return frozenset(n.username for n in namesakes if n.resolution == "pending")


class RelativesCheck(BaseModel):
    """The relatives check of a case: staff barred (the staff register, or a declared ID number), namesake
    warnings for relatives declared by name only, and the declared relatives no account matches."""

    barred: list[RelativesMatch] = Field(default_factory=list)
    namesakes: list[Namesake] = Field(default_factory=list)
    unmatched: list[int] = Field(default_factory=list, description="未匹配到账号的申报近亲属（序号）")


class NamesakeResolution(BaseModel):
    """The answer to a namesake warning (同名提示): whether the user `username` is the close relative the
    applicant declared by name (then they are barred from the case) or only bears the same name."""

    actor: Actor
    username: str = Field(min_length=1, max_length=64, description="同名的工作人员（用户名）")
    same_person: bool = Field(description="true：是本人（回避）；false：不是本人")
    note: str = Field(default="", max_length=500, description="核实情况")


class FiledRelative(BaseModel):
    """A declared close relative among staff who has no account (近亲属备案): kept on the case, and the district
    makes its own home visit. The ID number only masked."""

    staff_name: str
    relation: str
    workplace: str = ""
    id_number_masked: str = ""
