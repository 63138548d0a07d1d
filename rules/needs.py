"""The 12349 front door's catalogue: what a resident says they need, and who owns that kind of help.

A resident chooses a need in plain words, not a bureau (一门受理): triage maps each need to a route:
a dibao/tekun review case, an emergency-aid event, or a referral (转介) to the bureau of the "8+1"
system that owns it. Pure data; bureau codes are those of schemas.staff.Bureau.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Route(StrEnum):
    REVIEW = "review"  # 低保 / 特困: the township's review workflow
    EMERGENCY = "emergency"  # 救急难: the village/township/district tiers
    REFERRAL = "referral"  # 转介 to a partner bureau


@dataclass(frozen=True)
class Need:
    code: str
    plain: str  # what the resident reads
    help_kind: str  # which of the "8+1" kinds of help
    route: Route
    bureau: str | None = None  # for referrals
    assistance_type: str | None = None  # for review cases


NEEDS: tuple[Need, ...] = (
    Need("low_income", "家里收入低，生活困难", "最低生活保障", Route.REVIEW, assistance_type="dibao"),
    Need("no_support", "老人/孤儿/重残，无劳动能力、无人赡养", "特困人员供养", Route.REVIEW, assistance_type="tekun"),
    Need("sudden_hardship", "突然遇到急事难事（重病、事故、火灾）", "临时救助", Route.EMERGENCY),
    Need("medical_costs", "看病负担重", "医疗救助", Route.REFERRAL, bureau="medical"),
    Need("school_costs", "孩子上学困难", "教育救助", Route.REFERRAL, bureau="education"),
    Need("housing", "住房困难、房屋破旧需要改造", "住房救助", Route.REFERRAL, bureau="housing"),
    Need("disaster", "房子受灾、遭受自然灾害", "受灾人员救助", Route.REFERRAL, bureau="emergency"),
    Need("jobless", "失业了，想找工作", "就业救助", Route.REFERRAL, bureau="hrss"),
    Need("charity", "大病或多重困难，希望得到慈善援助", "社会力量参与", Route.REFERRAL, bureau="charity"),
    Need("vagrant", "发现流浪乞讨人员或肇事肇祸精神障碍患者", "公安与民政救助", Route.REFERRAL, bureau="police"),
)

BY_CODE = {n.code: n for n in NEEDS}


def need(code: str) -> Need:
    try:
        return BY_CODE[code]
    except KeyError:
        raise ValueError(f"未知的求助事项：{code}") from None
