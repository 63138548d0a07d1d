"""Fields named in Chinese: the one catalog every validation message takes its field names from (the
policy form, the calendar import, the emergency form, the portal and the API's 422 answers), so that a
message reads "身份证号码：身份证号码校验位错误" rather than "id_number：…".

A pydantic location is looked up by its longest dotted suffix: ("household", "id_number") tries
"household.id_number", then "id_number"; ("review", "notice_length") finds "review.notice_length".
"""

from __future__ import annotations

from collections.abc import Sequence

FIELD_LABELS: dict[str, str] = {
    # people, places and requests
    "name": "姓名",
    "id_number": "身份证号码",
    "phone": "联系电话",
    "township_code": "乡镇（街道）",
    "village_code": "村（社区）",
    "address": "居住地址",
    "description": "情况说明",
    "needs": "求助事项",
    "about_case_id": "涉及的案件编号",
    "application_id": "申请编号",
    "case_id": "案件编号",
    "about_person": "涉及的工作人员",
    "kind": "类型",
    "household": "家庭",
    "members": "家庭人数",
    "member_id_numbers": "家庭成员身份证号码",
    "event_id": "事件编号",
    "path": "救助方式",
    "expense": "支出情况",
    "declared_relatives": "申报的亲属",
    "relation": "关系",
    "amount": "金额",
    "donor": "捐赠人",
    "reason": "理由",
    "comment": "意见",
    # the calendar import
    "source": "来源（通知名称或文号）",
    "year": "年份",
    "holidays": "放假日期",
    "workdays": "调休上班日期",
    "date": "日期",
    # policy versions (webapp/admin/policy_form.py lays them out in sections)
    "version": "版本号",
    "effective_from": "生效日期",
    "note": "版本说明",
    "review": "审核审批",
    "review.promised_working_days": "承诺办结时限",
    "review.statutory_working_days": "法定办结时限",
    "review.statutory_extended_working_days": "法定延长办结时限",
    "review.verification_start_working_days": "受理后发起核对的时限",
    "review.verification_result_working_days": "核对结果等待时限",
    "review.reminders": "到期提醒",
    "review.min_investigators": "入户调查最少人数",
    "review.neighbour_interview_required": "须邻里访问",
    "review.hearing_mandatory": "须民主评议",
    "review.notice_length": "公示期长度",
    "review.notice_unit": "公示期计算方式",
    "review.notice_counts_in_limit": "公示期计入办理时限",
    "review.refusal_notice_working_days": "不予批准告知时限",
    "review.default_approval_level": "未单列乡镇（街道）的审核确认层级",
    "review.approval_level_by_township": "按乡镇（街道）单列的审核确认层级",
    "standards": "保障标准",
    "standards.dibao_urban": "城市低保标准",
    "standards.dibao_rural": "农村低保标准",
    "standards.tekun_urban": "城市特困供养基本生活标准",
    "standards.tekun_rural": "农村特困供养基本生活标准",
    "standards.tekun_min_ratio": "特困标准不低于低保标准的倍数",
    "categories": "低保类别",
    "emergency": "临时救助",
    "emergency.village_cap": "村级封顶额",
    "emergency.township_cap": "乡镇（街道）级封顶额",
    "emergency.village_township_total_cap": "村、乡两级累计封顶额",
    "emergency.documentation_working_days": "补齐材料时限",
    "emergency.documentation_reminder_days_left": "补齐材料提前提醒",
    "emergency.payment_hours": "首笔发放时限",
    "emergency.payment_district_hours": "逾期后上报区民政局的时限",
    "emergency.caps_per": "封顶口径",
    "emergency.period_months": "统计周期",
    "emergency.repeat_needs_township": "周期内再次救助须乡镇（街道）审批",
    "front_door": "12349 求助受理",
    "front_door.answer_working_days": "咨询答复时限",
    "front_door.referral_accept_working_days": "转办受理时限",
    "front_door.referral_result_working_days": "转办办结时限",
    "front_door.complaint_accept_days": "投诉受理时限",
    "front_door.complaint_conclude_days": "投诉办结时限",
    "ongoing_review": "动态复核",
    "ongoing_review.stable_months": "稳定家庭复核周期",
    "ongoing_review.irregular_months": "其他家庭复核周期",
    "ongoing_review.stable_categories": "按年复核的低保类别",
    "ongoing_review.sample_share": "抽查比例",
    "ongoing_review.township_max_change": "乡镇（街道）可决定的月保障金调整额",
    "ongoing_review.township_max_change_ratio": "乡镇（街道）可决定的调整幅度",
    "ongoing_review.overdue_working_days": "复核超期上报的工作日数",
    "tekun": "特困认定",
    "tekun.care_full": "全自理照料护理标准",
    "tekun.care_partial": "半护理照料护理标准",
    "tekun.care_none": "全护理照料护理标准",
    "tekun.adult_age": "未成年年龄",
    "tekun.old_age": "老年年龄",
    "tekun.qualifying_disabilities": "视为无劳动能力的残疾类别及等级",
    "tekun.serious_illness_counts": "患重病视为无劳动能力",
    "assets": "财产限定",
    "assets.deposit_months": "人均存款限额（月低保标准的月数）",
    "assets.max_vehicles": "车辆数上限",
    "assets.vehicle_max_value": "车辆价值上限",
    "assets.max_houses": "住房套数上限",
    "assets.business_allowed": "允许登记有经营实体",
    "assets.override_max_ratio": "审批调整月保障金的上限倍数",
    "documents": "申请材料",
    "documents.types": "材料类型",
    "documents.required": "各救助类型必备材料",
    "payroll": "资金发放",
    "payroll.payroll_day": "每月生成发放花名册的日期",
    "payroll.arrears": "新纳入对象首次发放的补发方式",
    "payroll.unpaid_escalation_months": "连续未发放成功上报区民政局的月数",
    "discovery": "主动发现",
    "discovery.visit_working_days": "发现任务入户核实时限",
    "discovery.dedup_days": "同类信号去重天数",
    "discovery.retention_days": "部门名单保存天数",
    "discovery.assisted_by": "视为已获救助的救助类型（按信号类别）",
    "discovery.review_prompt_kinds": "对在保对象提示复核的信号类别",
}

_WRAPPERS = ("body", "query", "path", "form")  # FastAPI's first element of a request's location


def field_path(loc: Sequence[object]) -> list[str]:
    """The location's field names (the request wrapper and list indices left out)."""
    names = list(loc)
    if names and names[0] in _WRAPPERS and len(names) > 1:
        names = names[1:]
    return [p for p in names if isinstance(p, str)]


def field_label(loc: Sequence[object]) -> str:
    """The Chinese name of the field at `loc`: '' for the model as a whole, the dotted path for a field
    the catalog does not know (an unexpected key, say)."""
    names = field_path(loc)
    for start in range(len(names)):
        label = FIELD_LABELS.get(".".join(names[start:]))
        if label:
            return label
    return ".".join(names)


# What to do, where the bare rule would not say it (keyed by the field's last name and the error type).
HINTS: dict[tuple[str, str], str] = {
    ("township_code", "missing"): "请选择乡镇（街道）",
    ("township_code", "string_pattern_mismatch"): "请选择乡镇（街道）",
    ("village_code", "missing"): "请选择村（社区）",
    ("village_code", "string_pattern_mismatch"): "请选择村（社区）",
    ("name", "missing"): "请填写姓名",
    ("name", "string_too_short"): "请填写姓名",
    ("description", "missing"): "请写明情况",
    ("description", "string_too_short"): "请写明情况，至少 {min_length} 个字",
    ("address", "missing"): "请填写居住地址",
    ("address", "string_too_short"): "请填写居住地址，至少 {min_length} 个字",
    ("needs", "missing"): "请至少选择一项求助事项",
    ("needs", "too_short"): "请至少选择一项求助事项",
    ("event_id", "string_pattern_mismatch"): "应为 3 到 64 个字母、数字、- 或 _，或留空自动生成",
}


def hint(loc: Sequence[object], kind: str, ctx: dict | None = None) -> str | None:
    """The field-specific advice for this kind of error, if there is one."""
    names = field_path(loc)
    text = HINTS.get((names[-1], kind)) if names else None
    return text.format(**(ctx or {})) if text else None
