"""The complaint analysis page (/analysis): seed 003's periodic report, live, for supervisors only."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from datetime import date, timedelta
from typing import Any, Dict, Optional, Union
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from bot.analysis.periods import Period, PeriodError
from bot.analysis.printable import printable_html
from bot.analysis.printing import PrintUnavailable, print_pdf
from bot.analysis.report import Analysis, Report
from bot.analysis.scope import Scope
from bot.analysis.ticket_export import TicketExport
from bot.analysis.workbook import workbook
from bot.clock import utc_now
from bot.desk.casework import REASON_LABELS
from bot.desk.context import desk_of
from bot.desk.ticket_views import CHANNEL_LABELS
from bot.desk.workspace import first_values
from bot.settings import PROJECT_ROOT
from bot.taxonomy import Taxonomy
from bot.tickets import CATEGORY_LABELS

log = logging.getLogger(__name__)

SUPERVISORS_ONLY = "仅主管可以查看投诉分析"
# Apache ECharts, installed by `npm ci` in web/ (pinned in web/package-lock.json), served by the desk.
ECHARTS_FILE = PROJECT_ROOT / "web" / "node_modules" / "echarts" / "dist" / "echarts.min.js"
ECHARTS_URL = "/static/vendor/echarts.min.js"
CHANNEL_CHOICES = {key: label for key, label in CHANNEL_LABELS.items() if key != "socketio"}
MAX_VALUE = 64
FILTERS = ("channel", "category", "region")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
UNMASKED_POST_ONLY = "未脱敏导出须在分析页填写导出原因后提交"
REASON_NEEDED = "请填写导出原因（2–200字）"
MIN_REASON, MAX_REASON = 2, 200


def default_period(today: date) -> Period:
    """The last twelve whole months up to the current one."""
    start = date(today.year - 1, today.month, 1)
    start = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    end = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    return Period(start, end)


def _choice(value: Optional[str], allowed: Dict[str, str], what: str) -> Optional[str]:
    if not value:
        return None
    if value not in allowed:
        raise PeriodError(f"未知的{what}")
    return value


def read_scope(args: Dict[str, Any], today: date) -> Scope:
    """The scope the query string asks for; PeriodError (a Chinese message) for anything else."""
    text = str(args.get("period") or "").strip()[:MAX_VALUE]
    period = Period.parse(text) if text else default_period(today)
    region = str(args.get("region") or "").strip()
    if len(region) > MAX_VALUE:
        raise PeriodError("地区筛选条件过长")
    return Scope(
        period,
        channel=_choice(str(args.get("channel") or "").strip(), CHANNEL_CHOICES, "渠道"),
        category=_choice(str(args.get("category") or "").strip(), CATEGORY_LABELS, "投诉类别"),
        region=region or None,
    )


def _period_text(period: Period) -> str:
    return f"{period.start.isoformat()}..{period.end.isoformat()}"


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else str(value)


async def analysis_page(request: Request) -> HTTPResponse:
    desk, login = desk_of(request), request.ctx.login
    if not login.agent.is_supervisor:
        return desk.page("refused.html", 403, login=login, message=SUPERVISORS_ONLY)
    settings = desk.settings
    analysis = Analysis(desk.db, settings, channel_labels=CHANNEL_LABELS, handoff_reasons=REASON_LABELS)
    today = analysis.clock().astimezone(ZoneInfo(settings.timezone)).date()
    args = first_values(request.args)
    shown = {name: str(args.get(name) or "")[:MAX_VALUE] for name in ("period", *FILTERS)}
    status, problem = 200, None
    try:
        scope = read_scope(args, today)
    except PeriodError as exc:
        status, problem, scope = 400, str(exc), Scope(default_period(today))
        shown = dict.fromkeys(shown, "")
    report = await asyncio.to_thread(analysis.report, scope)
    # The downloads ask for what is shown: the period the page resolved to, and its filters.
    export_fields = {"period": _period_text(scope.period), **{name: shown[name] for name in FILTERS if shown[name]}}
    return desk.page(
        "analysis.html",
        status,
        login=login,
        report=report,
        problem=problem,
        # Escaped by |tojson in the template: data for the charts, never executed.
        chart_data=json.loads(json.dumps(dataclasses.asdict(report), default=_plain)),
        args=shown,
        query=urlencode(export_fields),
        export_fields=export_fields,
        channels=CHANNEL_CHOICES,
        categories=CATEGORY_LABELS,
        charts_available=ECHARTS_FILE.exists(),
        echarts_url=ECHARTS_URL,
        last_day=report.scope.period.end - timedelta(days=1),
    )


async def _scoped(request: Request) -> Union[Scope, HTTPResponse]:
    """The scope a supervisor's download asks for (query string, or the form of a POST), or the refusal."""
    desk, login = desk_of(request), request.ctx.login
    if not login.agent.is_supervisor:
        return desk.page("refused.html", 403, login=login, message=SUPERVISORS_ONLY)
    today = utc_now().astimezone(ZoneInfo(desk.settings.timezone)).date()
    try:
        return read_scope(first_values(request.form if request.method == "POST" else request.args), today)
    except PeriodError as exc:
        return desk.page("refused.html", 400, login=login, message=str(exc))


async def _report(request: Request, scope: Scope) -> Report:
    desk = desk_of(request)
    return await asyncio.to_thread(
        Analysis(desk.db, desk.settings, channel_labels=CHANNEL_LABELS, handoff_reasons=REASON_LABELS).report, scope
    )


def _file_name(scope: Scope, suffix: str) -> str:
    period = scope.period
    return f"complaint-{suffix}-{period.start.isoformat()}-{(period.end - timedelta(days=1)).isoformat()}"


def _attachment(content: bytes, content_type: str, name: str) -> HTTPResponse:
    return response.raw(
        content, content_type=content_type, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


async def analysis_workbook(request: Request) -> HTTPResponse:
    """The same figures as an XLSX workbook, one sheet per section."""
    scope = await _scoped(request)
    if not isinstance(scope, Scope):
        return scope
    content = await asyncio.to_thread(workbook, await _report(request, scope))
    return _attachment(content, XLSX, _file_name(scope, "analysis") + ".xlsx")


async def _printable(request: Request, scope: Scope) -> str:
    report = await _report(request, scope)
    now = utc_now().astimezone(ZoneInfo(desk_of(request).settings.timezone))
    return printable_html(report, now)


async def analysis_report_html(request: Request) -> HTTPResponse:
    """The printable report (seed 003's sections) as one self-contained HTML file, charts inside it."""
    scope = await _scoped(request)
    if not isinstance(scope, Scope):
        return scope
    page = await _printable(request, scope)
    return _attachment(page.encode("utf-8"), "text/html; charset=utf-8", _file_name(scope, "report") + ".html")


async def analysis_report_pdf(request: Request) -> HTTPResponse:
    """The printable report printed to PDF by headless Chromium."""
    scope = await _scoped(request)
    if not isinstance(scope, Scope):
        return scope
    desk, login = desk_of(request), request.ctx.login
    page = await _printable(request, scope)
    try:
        content = await asyncio.to_thread(print_pdf, page, desk.settings.report_chromium)
    except PrintUnavailable as exc:
        log.warning("report PDF not printed: %s", exc.__cause__ or exc)
        return desk.page("refused.html", 503, login=login, message=str(exc))
    return _attachment(content, "application/pdf", _file_name(scope, "report") + ".pdf")


async def analysis_tickets_csv(request: Request) -> HTTPResponse:
    """The complaints behind the figures as CSV, personal numbers masked. The unmasked export is a POST
    (CSRF-checked, with a reason) so that no link, prefetch or shared URL exports them; a GET asking for it
    answers 405."""
    if "unmasked" in request.args:
        desk = desk_of(request)
        page = desk.page("refused.html", 405, login=request.ctx.login, message=UNMASKED_POST_ONLY)
        page.headers["Allow"] = "POST"
        return page
    return await _tickets_csv(request, unmasked=False, reason=None)


async def analysis_tickets_csv_unmasked(request: Request) -> HTTPResponse:
    """The CSV with personal numbers unmasked: posted from the analysis page with a reason; audited."""
    desk, login = desk_of(request), request.ctx.login
    reason = " ".join(str(first_values(request.form).get("reason") or "").split())
    if login.agent.is_supervisor and not MIN_REASON <= len(reason) <= MAX_REASON:
        return desk.page("refused.html", 400, login=login, message=REASON_NEEDED)
    return await _tickets_csv(request, unmasked=True, reason=reason)  # refuses an agent


async def _tickets_csv(request: Request, unmasked: bool, reason: Optional[str]) -> HTTPResponse:
    scope = await _scoped(request)
    if not isinstance(scope, Scope):
        return scope
    desk, login = desk_of(request), request.ctx.login
    settings = desk.settings
    export = TicketExport(
        desk.db,
        Taxonomy.load(settings.taxonomy_file),
        ZoneInfo(settings.timezone),
        CHANNEL_LABELS,
        settings.export_max_rows,
    )
    described = urlencode(
        {
            "period": _period_text(scope.period),
            **{name: getattr(scope, name) for name in FILTERS if getattr(scope, name)},
        }
    )
    try:
        content = await asyncio.to_thread(export.csv, scope, login.agent.username, unmasked, described, reason)
    except PeriodError as exc:
        return desk.page("refused.html", 400, login=login, message=str(exc))
    log.info("supervisor %s exported tickets (%s), unmasked=%s", login.agent.username, described, unmasked)
    suffix = "tickets-unmasked" if unmasked else "tickets"
    return _attachment(content, "text/csv; charset=utf-8", _file_name(scope, suffix) + ".csv")


def blueprint() -> Blueprint:
    """A new blueprint for one app (blueprints remember the apps they are registered with)."""
    bp = Blueprint("analysis")
    bp.get("/analysis")(analysis_page)
    bp.get("/analysis.xlsx")(analysis_workbook)
    bp.get("/analysis/report.html")(analysis_report_html)
    bp.get("/analysis/report.pdf")(analysis_report_pdf)
    bp.get("/analysis/tickets.csv")(analysis_tickets_csv)
    bp.post("/analysis/tickets.csv")(analysis_tickets_csv_unmasked)
    return bp
