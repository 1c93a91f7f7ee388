"""The printable report in the structure of seed 003, as one self-contained HTML page (charts as SVG images)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Dict

from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.analysis.charts import bars, data_uri
from bot.analysis.report import Report

TEMPLATES = Path(__file__).resolve().parent / "templates"
# The report's numbered sections, in seed 003's order (the tests look for these titles in the PDF).
SECTIONS = ("一、投诉总体情况", "二、投诉类型及原因分析", "三、典型案例", "四、优先改进问题")


def _charts(report: Report) -> Dict[str, str]:
    """Each chart as an image address inside the page."""
    return {
        "months": data_uri(bars(report.months)),
        "channels": data_uri(bars([(row.label, row.count) for row in report.channels])),
        "categories": data_uri(bars([(item.category.label, item.category.count) for item in report.categories])),
        "regions": data_uri(bars([(row.label, row.count) for row in report.regions])),
        "priorities": data_uri(
            bars([(f"{item.category_label}·{item.sub_reason_label}", item.complaints) for item in report.priorities])
        ),
    }


def _filters(report: Report) -> str:
    """The filters by their labels where the report has them (a channel or category with complaints in it)."""
    scope = report.scope
    named = {row.key: row.label for row in report.channels}
    named.update({item.category.key: item.category.label for item in report.categories})
    return "，".join(
        f"{label}：{named.get(value, value)}"
        for label, value in (("渠道", scope.channel), ("类别", scope.category), ("地区", scope.region))
        if value
    )


def printable_html(report: Report, generated_at: datetime) -> str:
    """The page: no script, no outside address; prints on A4."""
    pages = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    return pages.get_template("printable_report.html").render(
        report=report,
        charts=_charts(report),
        sections=SECTIONS,
        filters=_filters(report),
        generated_at=generated_at.strftime("%Y-%m-%d %H:%M"),
        period_end=report.scope.period.end,
    )
