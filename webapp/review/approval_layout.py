"""The approval form's layout (审核确认表, A4): label/value grids that wrap Chinese text, one section per step,
from the `FormData` read before (no I/O here, so the route runs it in the thread pool).

ID numbers: full on the form for the people who keep the official file (township caseworker and
approver, district officer: authz `ids.full`); masked for everyone else who may read the case
(supervisor, village cadre, administrator). Phone numbers follow the same rule.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, Spacer, Table, TableStyle

from infra.clock import BEIJING
from rules.clock import last_day
from rules.stages import STAGE_LABELS
from schemas.identity import mask_id, mask_phone
from schemas.people import RELATION_LABELS, AssetKind, IncomeSource
from schemas.review import AssistanceType
from schemas.staff import Actor
from webapp.pdfkit import a4, cjk_font, paragraph
from webapp.review.approval_data import FormData
from webapp.review.cases import shows_full_ids

INCOME_SOURCES = {s.value: s.label for s in IncomeSource}
HUKOU = {"urban": "城镇", "rural": "农村"}
CHANNELS = {"counter": "窗口申请", "online": "12349 平台", "proxy": "村（居）委会代办"}
NOT_YET = "（尚未办理）"


# ---- layout ------------------------------------------------------------------------------------------


def yuan(value: Any) -> str:
    return f"{Decimal(str(value)):.2f} 元"


def local(at: datetime | str) -> datetime:
    return (datetime.fromisoformat(at) if isinstance(at, str) else at).astimezone(BEIJING)


class Form:
    """Builds the form's flowables: label/value grids that wrap Chinese text, on A4."""

    WIDTH = A4[0] - 36 * mm
    SHADE = colors.HexColor("#eef2f7")

    def __init__(self, data: FormData, full_ids: bool) -> None:
        self.d = data
        self.full_ids = full_ids
        self.font = cjk_font()
        self.text = ParagraphStyle("text", fontName=self.font, fontSize=9.5, leading=13, wordWrap="CJK")
        self.label = ParagraphStyle("label", parent=self.text, textColor=colors.HexColor("#333333"))
        self.heading = ParagraphStyle(
            "heading", parent=self.text, fontSize=11.5, leading=16, spaceBefore=7, spaceAfter=3
        )
        self.title = ParagraphStyle("title", parent=self.text, fontSize=17, leading=24, alignment=TA_CENTER)
        self.meta = ParagraphStyle("meta", parent=self.text, fontSize=9, alignment=TA_CENTER)

    def p(self, text: Any, style: ParagraphStyle | None = None) -> Paragraph:
        return paragraph(text, style or self.text)

    def name(self, username: str | None) -> str:
        return self.d.names.get(username or "", username or "")

    def id_number(self, value: str) -> str:
        return value if self.full_ids else mask_id(value)

    def grid(self, rows: list[list[Any]], widths: list[float], header: bool = False) -> Table:
        """A bordered table; a cell spanning several columns is given as (text, span). With `header` the
        first row is the shaded header, otherwise every single cell at an even column is a shaded label."""
        cells: list[list[Any]] = []
        style: list[tuple[Any, ...]] = [
            ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ]
        for r, row in enumerate(rows):
            line: list[Any] = []
            for item in row:
                text, span = item if isinstance(item, tuple) else (item, 1)
                c = len(line)
                shaded = r == 0 if header else (c % 2 == 0 and span == 1)
                line.append(self.p(text, self.label if shaded else self.text))
                line += [""] * (span - 1)
                if span > 1:
                    style.append(("SPAN", (c, r), (c + span - 1, r)))
                if shaded:
                    style.append(("BACKGROUND", (c, r), (c, r), self.SHADE))
            cells.append(line)
        total = sum(widths)
        table = Table(cells, colWidths=[self.WIDTH * w / total for w in widths], repeatRows=1 if header else 0)
        table.setStyle(TableStyle(style))
        return table

    def section(self, title: str, body: list[Any]) -> KeepTogether:
        return KeepTogether([self.p(title, self.heading), *body])

    # -- sections --

    def household(self) -> list[Any]:
        case, hh, app = self.d.case, self.d.household, self.d.application
        accepted = self.d.events.get("accepted")
        applicant = next((m for m in self.d.members if m.relation == "self"), None)
        phone = hh.phone if hh and hh.phone else ""
        rows = [
            [
                "申请人",
                case.applicant_name,
                "身份证号码",
                self.id_number(applicant.id_number) if applicant else "",
            ],
            [
                "户籍类型",
                HUKOU.get(hh.hukou_type, "") if hh else "",
                "联系电话",
                phone if self.full_ids else mask_phone(phone),
            ],
            ["家庭住址", (hh.address if hh else "", 3)],
            ["申请渠道", CHANNELS.get(case.channel, case.channel), "家庭人口", f"{len(self.d.members)} 人"],
            [
                "受理人",
                self.name(accepted["actor"]) if accepted else "",
                "受理时间",
                f"{local(case.accepted_at):%Y-%m-%d %H:%M}",
            ],
        ]
        if app and app.attachments:
            rows.append(["已收材料", ("、".join(app.attachments), 3)])
        return [self.grid(rows, [1.2, 2.3, 1.2, 2.3])]

    def members(self) -> list[Any]:
        by_id = {m.id_number: m for m in self.d.application.household.members} if self.d.application else {}
        rows: list[list[Any]] = [["序号", "姓名", "与申请人关系", "身份证号码", "残疾等级", "劳动能力"]]
        for i, m in enumerate(self.d.members, 1):
            declared = by_id.get(m.id_number)
            grade = f"{declared.disability_grade} 级" if declared and declared.disability_grade else "无"
            able = ("有" if declared.able_to_work else "无") if declared else ""
            relation = RELATION_LABELS.get(m.relation, m.relation)
            rows.append([str(i), m.name, relation, self.id_number(m.id_number), grade if declared else "", able])
        return [self.grid(rows, [0.6, 1.4, 1.4, 2.6, 1, 1], header=True)]

    def incomes(self) -> list[Any]:
        app = self.d.application
        if app is None:
            return [self.p("申报收入见受理材料（工作流记录暂不可查询）。")]
        hh = app.household
        names = {m.id_number: m.name for m in hh.members}
        rows: list[list[Any]] = [["收入来源", "所属成员", "月收入", "说明"]]
        rows += [
            [
                INCOME_SOURCES.get(i.source.value, i.source.value),
                names.get(i.member_id_number or "", "全家"),
                yuan(i.monthly_amount),
                i.note,
            ]
            for i in hh.incomes
        ] or [["无申报收入", "", "", ""]]
        rows.append([("家庭月收入合计", 2), yuan(hh.monthly_income()), f"人均 {yuan(hh.per_capita_income())}"])
        body: list[Any] = [self.grid(rows, [1.6, 1.4, 1.3, 2.7], header=True)]
        if hh.assets:
            assets = "；".join(
                f"{AssetKind(a.kind).label}{('（' + a.description + '）') if a.description else ''} {yuan(a.value)}"
                for a in hh.assets
            )
            body += [Spacer(1, 2 * mm), self.p(f"申报财产：{assets}")]
        return body

    def verification(self) -> list[Any]:
        e = self.d.events.get("verification_result")
        if e is None:
            return [self.p(NOT_YET)]
        v = e["payload"]
        return [
            self.grid(
                [
                    [
                        "核对后家庭月收入",
                        yuan(v["verified_monthly_income"]),
                        "财产状况",
                        "符合规定" if v["assets_within_limits"] else "超出规定",
                    ],
                    ["核对情况", (v["findings"], 3)],
                    [
                        "核对报告编号",
                        v.get("report_ref") or "",
                        "录入",
                        f"{self.name(e['actor'])} {local(e['occurred_at']):%Y-%m-%d}",
                    ],
                ],
                [1.4, 2.1, 1.2, 2.3],
            )
        ]

    def home_visit(self) -> list[Any]:
        e = self.d.events.get("home_visit")
        if e is None:
            return [self.p(NOT_YET)]
        v = e["payload"]
        who = "、".join(self.name(u) for u in v["investigators"])
        assisted = "、".join(self.name(u) for u in v.get("assistants", []))
        helpers = [["协助人员（村干部）", (assisted, 3)]] if assisted else []
        return [
            self.grid(
                [
                    ["调查日期", v["visited_on"], "调查单位", "区民政局" if v.get("by_district") else "乡镇（街道）"],
                    ["调查人员", (who, 3)],
                    *helpers,
                    ["在场家庭成员签字", ("、".join(v["family_signatures"]), 3)],
                    ["调查情况", (v["findings"], 3)],
                ],
                [1.4, 2.1, 1.2, 2.3],
            )
        ]

    def neighbours(self) -> list[Any]:
        e = self.d.events.get("neighbour_interview")
        if e is None:
            return [self.p(NOT_YET)]
        v = e["payload"]
        rows = [
            ["走访日期", v["interviewed_on"], "走访人", self.name(e["actor"])],
            ["走访对象", ("、".join(v["interviewees"]), 3)],
            ["走访情况", (v["findings"], 3)],
        ]
        if v.get("evidence_requests"):
            rows.append(["信函索证", ("、".join(v["evidence_requests"]), 3)])
        return [self.grid(rows, [1.4, 2.1, 1.2, 2.3])]

    def hearing(self) -> list[Any]:
        e = self.d.events.get("hearing")
        if e is None:
            return [self.p(NOT_YET)]
        v = e["payload"]
        return [
            self.grid(
                [
                    ["形式", "听证评议" if v["kind"] == "hearing" else "民主评议", "日期", v["held_on"]],
                    ["参加人员", ("、".join(v["participants"]), 3)],
                    ["评议意见", ("同意" if v["opinion"] == "agree" else "不同意", 3)],
                    ["评议情况", (v.get("notes") or v.get("summary", ""), 3)],
                ],
                [1.4, 2.1, 1.2, 2.3],
            )
        ]

    def decision(self) -> list[Any]:
        e = self.d.events.get("decision")
        if e is None:
            return [self.p(NOT_YET)]
        v = e["payload"]
        signed = ["审批人", self.name(e["actor"]), "审核确认时间", f"{local(e['occurred_at']):%Y-%m-%d %H:%M}"]
        if not v["approve"]:
            return [
                self.grid(
                    [["结论", ("不予批准", 3)], ["不予批准理由", (v["reasons"], 3)], signed], [1.4, 2.1, 1.2, 2.3]
                )
            ]
        amount = v.get("monthly_amount") or v["proposed_amount"]
        category = v.get("category")
        rows = [
            ["结论", "批准", "保障类别", self.d.categories.get(category, category) if category else "—"],
            ["测算月救助金额", yuan(v["proposed_amount"]), "核定月救助金额", yuan(amount)],
        ]
        if v.get("override_reason"):
            rows.append(["金额调整理由", (v["override_reason"], 3)])
        rows.append(signed)
        return [self.grid(rows, [1.4, 2.1, 1.2, 2.3])]

    def notice(self) -> list[Any]:
        ev = self.d.events
        started = ev.get("notice_started")
        if ev.get("refused"):
            # the day the refusal set, or the one a calendar change counted since
            refused = (ev.get("refusal_deliver_by_recomputed") or ev["refused"])["payload"]
            return [
                self.grid(
                    [["书面通知送达期限", refused.get("deliver_by", ""), "公示", "不予批准，不公示"]],
                    [1.4, 2.1, 1.2, 2.3],
                )
            ]
        if started is None:
            return [self.p(NOT_YET)]
        first = local(started["occurred_at"]).date()
        last = last_day(local(started["payload"]["ends_at"]))
        objections = (
            "；".join(f"{o['payload']['objector']}：{o['payload']['content']}" for o in self.d.objections) or "无"
        )
        if ev.get("enrolled"):
            p = ev["enrolled"]["payload"]
            month = datetime.fromisoformat(p["first_payment_month"])
            result = f"公示无异议，纳入保障，每月 {yuan(p['monthly_amount'])}，自 {month:%Y年%m月} 起发放"
        else:
            result = "公示中"
        return [
            self.grid(
                [
                    ["公示期", (f"{first:%Y-%m-%d} 至 {last:%Y-%m-%d}", 3)],
                    ["公示异议", (objections, 3)],
                    ["公示结果", (result, 3)],
                ],
                [1.4, 2.1, 1.2, 2.3],
            )
        ]

    def signatures(self) -> list[Any]:
        day = "\xa0" * 10 + "年" + "\xa0" * 6 + "月" + "\xa0" * 6 + "日"  # no-break spaces are not collapsed
        rows = [
            ["调查人员（签字）", "", "日期", day],
            ["经办人（签字）", "", "日期", day],
            ["审批人（签字）", "", "日期", day],
            ["乡镇人民政府（街道办事处）意见（盖章）", "", "日期", day],
        ]
        table = self.grid(rows, [2.3, 2.5, 0.7, 1.8])
        table.setStyle(TableStyle([("TOPPADDING", (0, 0), (-1, -1), 12), ("BOTTOMPADDING", (0, 0), (-1, -1), 12)]))
        return [table]

    def story(self) -> list[Any]:
        case = self.d.case
        kind = AssistanceType(case.assistance_type).label
        place = case.township_name + (f" {case.village_name}" if case.village_name else "")
        stage = STAGE_LABELS.get(case.stage, case.stage)
        return [
            self.p(f"{kind}审核确认表", self.title),
            self.p(f"案件编号：{case.case_id}　　{place}　　当前环节：{stage}", self.meta),
            Spacer(1, 3 * mm),
            self.section("一、申请人及家庭基本情况", self.household()),
            self.section("二、家庭成员", self.members()),
            self.section("三、家庭收入（申报）", self.incomes()),
            self.section("四、家庭经济状况核对", self.verification()),
            self.section("五、入户调查", self.home_visit()),
            self.section("六、邻里走访", self.neighbours()),
            self.section("七、民主评议", self.hearing()),
            self.section("八、审核确认意见", self.decision()),
            self.section("九、公示及结果", self.notice()),
            self.section("十、签字", self.signatures()),
        ]


def build_pdf(data: FormData, actor: Actor, printed_at: datetime) -> bytes:
    """Render the form; CPU-bound, so the route runs it in the thread pool."""
    form = Form(data, full_ids=shows_full_ids(actor, data.case))
    note = "" if form.full_ids else "（身份证号码已按查看权限脱敏）"
    footer = f"裕安区社会救助审核确认系统生成　打印人：{actor.full_name}　打印时间：{printed_at:%Y-%m-%d %H:%M}{note}"

    kind = AssistanceType(data.case.assistance_type).label
    return a4(
        form.story(),
        title=f"{kind}审核确认表 {data.case.case_id}",
        subject="审核确认表",
        footer=footer,
        side=18,
        top=15,
        bottom=18,
        footer_at=10,
        footer_size=8,
    )
