"""Printable PDFs of the supervision area: the monthly fund declaration and the case file for an
inspection. Both are official Chinese documents, so they are Chinese whatever the UI language, and
use the embedded CJK font of every printed document (`webapp.pdfkit`).

The builders take data already read and shaped by the page modules: they do no I/O, so the routes can
run them in the thread pool.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, Spacer, Table, TableStyle

from webapp.documents.pdf import DocumentsPrint
from webapp.documents.pdf import story as documents_story
from webapp.pdfkit import a4, cjk_font, paragraph

WIDTH = A4[0] - 30 * mm
SHADE = colors.HexColor("#eef2f7")


class Styles:
    def __init__(self) -> None:
        self.font = cjk_font()
        self.text = ParagraphStyle("text", fontName=self.font, fontSize=9, leading=12.5, wordWrap="CJK")
        self.small = ParagraphStyle("small", parent=self.text, fontSize=8, leading=11)
        self.right = ParagraphStyle("right", parent=self.text, alignment=2)
        self.heading = ParagraphStyle(
            "heading", parent=self.text, fontSize=11.5, leading=16, spaceBefore=8, spaceAfter=3, keepWithNext=1
        )
        self.title = ParagraphStyle("title", parent=self.text, fontSize=16, leading=23, alignment=TA_CENTER)
        self.meta = ParagraphStyle("meta", parent=self.text, alignment=TA_CENTER)
        self.warn = ParagraphStyle("warn", parent=self.meta, textColor=colors.HexColor("#b42318"), fontSize=10.5)

    def p(self, text: Any, style: ParagraphStyle | None = None) -> Paragraph:
        return paragraph(text, style or self.text)

    def table(
        self,
        rows: Sequence[Sequence[Any]],
        widths: Sequence[float],
        *,
        numeric: Sequence[int] = (),
        bold_rows: Sequence[int] = (),
        header: bool = True,
    ) -> Table:
        """A bordered table of wrapping paragraphs; `numeric` columns are right-aligned, `bold_rows` shaded."""
        cells = [
            [self.p(v, self.right if c in numeric and (r or not header) else self.text) for c, v in enumerate(row)]
            for r, row in enumerate(rows)
        ]
        total = sum(widths)
        table = Table(cells, colWidths=[WIDTH * w / total for w in widths], repeatRows=1 if header else 0)
        style = [
            ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 2.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 3.5),
        ]
        if header:
            style.append(("BACKGROUND", (0, 0), (-1, 0), SHADE))
        style += [("BACKGROUND", (0, r), (-1, r), SHADE) for r in bold_rows]
        table.setStyle(TableStyle(style))
        return table

    def listing(self, header: list[str], rows: list[list[str]], widths: Sequence[float]) -> Table | Paragraph:
        return self.table([header, *rows], widths) if rows else self.p("（无）")


def _build(story: list[Any], *, title: str, footer: str) -> bytes:
    return a4(story, title=title, footer=footer, side=15, top=14, bottom=16, footer_at=9, footer_size=7.5)


# ---- fund declaration ---------------------------------------------------------------------------------


@dataclass
class DeclarationPrint:
    month: str
    version: int
    status_label: str
    created: str  # who and when, as shown
    confirmed: str | None
    note: str | None
    rows: list[list[str]]  # township, kind, households, people, yuan; township subtotals marked in `subtotals`
    subtotals: list[int]  # indexes in `rows`
    total: list[str]  # households, people, yuan
    draft: bool


def declaration_pdf(d: DeclarationPrint, printed_by: str, printed_at: datetime) -> bytes:
    s = Styles()
    year, month = d.month.split("-")
    story: list[Any] = [
        s.p(f"裕安区{year}年{int(month)}月社会救助资金申报表", s.title),
        s.p(f"第 {d.version} 版　状态：{d.status_label}　生成：{d.created}", s.meta),
    ]
    if d.confirmed:
        story.append(s.p(f"确认：{d.confirmed}", s.meta))
    if d.draft:
        story.append(s.p("草稿，尚未确认，不作为拨付依据", s.warn))
    story.append(Spacer(1, 3 * mm))
    header = ["乡镇（街道）", "救助类别", "户数", "人数", "金额（元）"]
    rows = [header, *d.rows, ["合计", "", *d.total]]
    story.append(
        s.table(
            rows,
            [2.2, 2.6, 0.9, 0.9, 1.5],
            numeric=(2, 3, 4),
            bold_rows=[i + 1 for i in d.subtotals] + [len(rows) - 1],
        )
    )
    if d.note:
        story += [Spacer(1, 2 * mm), s.p(f"说明：{d.note}")]
    blank = "\xa0" * 16
    story += [
        Spacer(1, 8 * mm),
        s.table(
            [[f"制表人：{blank}", f"审核人：{blank}", f"区民政局（盖章）{blank}"]],
            [1, 1, 1.3],
            header=False,
        ),
    ]
    footer = f"裕安区社会救助系统生成　打印人：{printed_by}　打印时间：{printed_at:%Y-%m-%d %H:%M}"
    return _build(story, title=f"资金申报 {d.month} 第{d.version}版", footer=footer)


# ---- case file ------------------------------------------------------------------------------------------


@dataclass
class CaseFilePrint:
    case_id: str
    facts: list[tuple[str, str]]
    members: list[list[str]]  # name, relation, ID number (as the viewer may see it)
    masked: bool
    timeline: list[list[str]]  # when, stage, who, what
    decisions: list[list[str]]  # when, what, who, details
    notices: list[list[str]]  # when, to, subject, text
    recusal: list[str]
    temporal: list[list[str]] | None  # id, when, event, name/details; None when the history cannot be read
    workflow_id: str
    documents: DocumentsPrint | None = None  # the case's documents (webapp/documents/pdf.py)
    recused: bool = False  # the viewer is recused from the case: no documents (their scans show whole IDs)


def case_file_pdf(d: CaseFilePrint, printed_by: str, printed_at: datetime) -> bytes:
    s = Styles()
    facts = [[label, value] for label, value in d.facts]
    story: list[Any] = [
        s.p("社会救助案卷（监督检查用）", s.title),
        s.p(f"案件编号：{d.case_id}", s.meta),
        Spacer(1, 3 * mm),
        KeepTogether([s.p("一、案件概况", s.heading), s.table(facts, [1.3, 4.7], header=False)]),
        s.p("二、家庭成员", s.heading),
        s.listing(["姓名", "与申请人关系", "身份证号码"], d.members, [1.5, 1.5, 3]),
    ]
    if d.masked:
        story.append(s.p("身份证号码已按查看权限脱敏。", s.small))
    story += [
        s.p("三、办理经过（数据库事件记录）", s.heading),
        s.listing(["时间（北京时间）", "环节", "办理人", "事项"], d.timeline, [1.3, 1.2, 1.4, 4.1]),
        s.p("四、决定与复核", s.heading),
        s.listing(["时间", "事项", "办理人", "内容"], d.decisions, [1.3, 1.3, 1.4, 4]),
        s.p("五、通知与公示", s.heading),
        s.listing(["时间", "对象", "标题", "内容"], d.notices, [1.3, 1.3, 1.6, 3.8]),
        s.p("六、回避", s.heading),
        *[s.p(line) for line in d.recusal or ["无近亲属备案命中。"]],
        s.p(f"七、工作流事件历史（Temporal，工作流 {d.workflow_id}）", s.heading),
    ]
    if d.temporal is None:
        story.append(s.p("工作流事件历史暂不可读取（已超过保留期限或服务不可用），以上数据库记录为准。"))
    else:
        story.append(s.listing(["编号", "时间", "事件", "说明"], d.temporal, [0.6, 1.4, 1.6, 4.4]))
    if d.documents is not None:
        story += documents_story(s, d.documents)
    footer = f"裕安区社会救助系统生成　打印人：{printed_by}　打印时间：{printed_at:%Y-%m-%d %H:%M}"
    return _build(story, title=f"案卷 {d.case_id}", footer=footer)
