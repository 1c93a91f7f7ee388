"""The report as an XLSX workbook: one sheet per section, numbers as numbers, shares as percentages."""

from __future__ import annotations

from io import BytesIO
from typing import Any, Iterable, List, Optional, Sequence

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from bot.analysis.figures import Share
from bot.analysis.report import Report

PERCENT = "0.0%"
_SCOPE_LABELS = (("channel", "渠道"), ("category", "类别"), ("region", "地区"))


def _sheet(
    book: Workbook, title: str, head: Sequence[str], rows: Iterable[Sequence[Any]], shares: Sequence[int] = ()
) -> Worksheet:
    """A sheet with a bold header row; columns listed in `shares` hold fractions shown as percentages."""
    sheet: Worksheet = book.create_sheet(title)
    sheet.append(list(head))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(row))
    for column in shares:
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column + 1, max_col=column + 1):
            cell.number_format = PERCENT
    for index, title_text in enumerate(head):
        sheet.column_dimensions[chr(ord("A") + index)].width = max(10, len(title_text) * 2 + 4)
    sheet.freeze_panes = "A2"
    return sheet


def _shares(rows: List[Share]) -> List[List[Any]]:
    return [[row.label, row.count, row.share] for row in rows]


def _overview(book: Workbook, report: Report) -> None:
    sheet = book.active
    sheet.title = "概况"
    scope, totals = report.scope, report.totals
    # Filters by their labels where the report has them (a channel or category with complaints in the period).
    named = {row.key: row.label for row in report.channels}
    named.update({item.category.key: item.category.label for item in report.categories})
    filters = "，".join(
        f"{label}：{named.get(getattr(scope, name), getattr(scope, name))}"
        for name, label in _SCOPE_LABELS
        if getattr(scope, name)
    )
    rows: List[List[Optional[Any]]] = [
        ["统计区间", scope.period.label],
        ["起止日期", f"{scope.period.start.isoformat()} 至 {scope.period.end.isoformat()}（不含）"],
        ["筛选条件", filters or "全部"],
        ["投诉总量", totals.count],
        ["已结案", totals.closed],
        [f"同比基数（{report.year_before.label}）", totals.year_before],
        ["同比变化", totals.year_on_year],
        [f"环比基数（{report.previous.label}）", totals.previous],
        ["环比变化", totals.period_on_period],
        ["结案天数中位数", report.handling.median_days],
        ["结案天数P90", report.handling.p90_days],
        ["统计日期", report.as_of.isoformat()],
    ]
    for row in rows:
        sheet.append(row)
    for cell in sheet["A"]:
        cell.font = Font(bold=True)
    for row_number in (7, 9):
        sheet.cell(row=row_number, column=2).number_format = PERCENT
    sheet.column_dimensions["A"].width = 28
    sheet.column_dimensions["B"].width = 40


def workbook(report: Report) -> bytes:
    """The XLSX file of `report`."""
    book = Workbook()
    _overview(book, report)
    _sheet(book, "渠道", ("渠道", "件数", "占比"), _shares(report.channels), shares=(2,))
    _sheet(book, "月度趋势", ("月份", "件数"), report.months)
    _sheet(
        book,
        "类型及原因",
        ("类型", "原因", "件数", "占比"),
        [
            row
            for item in report.categories
            for row in (
                [[item.category.label, "合计", item.category.count, item.category.share]]
                + [[item.category.label, reason.label, reason.count, reason.share] for reason in item.sub_reasons]
            )
        ],
        shares=(3,),
    )
    _sheet(
        book,
        "可控性",
        ("类型", "业管可控", "业管不可控", "未认定", "可控占比", "可控原因", "不可控原因"),
        [
            [
                item.label,
                item.controllable,
                item.uncontrollable,
                item.unassessed,
                item.controllable_share,
                "；".join(f"{cause.label} {cause.count}" for cause in item.controllable_causes),
                "；".join(f"{cause.label} {cause.count}" for cause in item.uncontrollable_causes),
            ]
            for item in report.controllability
        ],
        shares=(4,),
    )
    _sheet(book, "地区", ("地区", "件数", "占比"), _shares(report.regions), shares=(2,))
    handling = report.handling
    _sheet(
        book,
        "处理时效",
        ("分组", "件数", "占比"),
        [["已结案：" + row.label, row.count, row.share] for row in handling.outcomes]
        + [["未结案：" + row.label, row.count, row.share] for row in handling.open_by_age],
        shares=(2,),
    )
    _sheet(
        book,
        "满意度",
        ("类型", "投诉", "已评价", "满意", "基本满意", "不满意", "满意率", "不满意率"),
        [
            [
                item.label,
                item.complaints,
                item.rated,
                item.satisfied,
                item.basically_satisfied,
                item.dissatisfied,
                item.satisfaction_rate,
                item.dissatisfaction_rate,
            ]
            for item in report.satisfaction
        ],
        shares=(6, 7),
    )
    _sheet(
        book,
        "优先改进",
        ("结论", "类型", "原因", "投诉", "占比", "已评价", "不满意", "不满意率"),
        [
            [
                item.quadrant,
                item.category_label,
                item.sub_reason_label,
                item.complaints,
                item.volume_share,
                item.rated,
                item.dissatisfied,
                item.dissatisfaction_rate,
            ]
            for item in report.priorities
        ],
        shares=(4, 7),
    )
    repeats = report.repeats
    _sheet(
        book,
        "重复投诉",
        ("手机号（脱敏）", "本期投诉"),
        [[item.phone, item.complaints] for item in repeats.most]
        + [[f"合计：{repeats.window_days}日内重复投诉", repeats.repeat_complaints]],
    )
    _sheet(
        book,
        "典型案例",
        ("类型", "工单号", "原因", "案件情况", "案件分析", "案件启示"),
        [
            [group.label, case.ticket_no, case.sub_reason, case.situation, case.analysis, case.lessons]
            for group in report.typical_cases
            for case in group.cases
        ],
    )
    malicious = report.malicious
    _sheet(
        book,
        "恶意投诉",
        ("类型", "件数", "占比"),
        _shares(malicious.categories) + [["合计（不作为拒绝服务的依据）", malicious.count, malicious.share]],
        shares=(2,),
    )
    bot = report.assistant
    figures: List[List[Any]] = [
        ["数据来源", {"tracker": "对话记录", "analytics": "分析事件流"}.get(bot.source or "", "不可用")],
        ["对话量", bot.conversations],
        ["用户消息", bot.messages],
        ["转人工对话", bot.handoffs],
        ["自助解决率", bot.self_service_rate],
        ["转人工率", bot.handoff_rate],
        ["未识别消息", bot.fallbacks],
        ["未识别率", bot.fallback_rate],
    ]
    figures += [["转人工原因：" + row.label, row.count] for row in bot.handoff_reasons]
    figures += [["未识别：" + item.text, item.count] for item in bot.not_understood]
    _sheet(book, "智能助手", ("指标", "数值"), figures)
    for row in (6, 7, 9):
        book["智能助手"].cell(row=row, column=2).number_format = PERCENT
    output = BytesIO()
    book.save(output)
    return output.getvalue()
