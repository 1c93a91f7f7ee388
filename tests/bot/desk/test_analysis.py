"""The analysis page: the report for a period and filters, ECharts served by the desk; agents get 403."""

from __future__ import annotations

import json
import re
from io import BytesIO

import pytest
from openpyxl import load_workbook

from bot.agents import Role
from bot.analysis.printable import SECTIONS
from bot.desk.analysis import ECHARTS_URL
from bot.models import DataExport
from tests.bot.analysis.dataset import PHONE_B, january_2026
from tests.bot.analysis.pdf_reading import pdf_text
from tests.bot.desk.server import DeskServer
from tests.e2e.browser import chromium_path

SUPERVISORS_ONLY = "仅主管可以查看投诉分析"


def _chart_data(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="analysis-data">(.*?)</script>', page, re.S)
    assert found, "no chart data on the page"
    return json.loads(found.group(1))


def test_agents_are_refused_the_analysis(desk: DeskServer) -> None:
    page = desk.agent("li").get("/analysis")
    assert page.status_code == 403 and SUPERVISORS_ONLY in page.text
    assert 'href="/analysis"' not in page.text  # no link for agents either


def test_a_supervisor_sees_the_period_s_figures_and_tables(desk: DeskServer) -> None:
    with desk.db.transaction() as session:
        january_2026(session)
    boss = desk.agent("boss", Role.SUPERVISOR)
    page = boss.get("/analysis", params={"period": "2026-01"})
    assert page.status_code == 200
    assert "投诉分析 · 2026年1月" in page.text and '<strong id="total-count">6</strong>' in page.text
    assert "+50.0%" in page.text and "+100.0%" in page.text  # 同比 and 环比
    assert "理赔纠纷" in page.text and "理赔时效" in page.text and "优先改进" in page.text
    assert page.text.count("查看数据表") == 8 and f'<script src="{ECHARTS_URL}"></script>' in page.text
    data = _chart_data(page.text)
    assert data["totals"]["count"] == 6 and data["months"] == [["2026-01", 6]]

    wechat = boss.get("/analysis", params={"period": "2026-01", "channel": "wechat", "region": "北京分公司"})
    assert _chart_data(wechat.text)["totals"]["count"] == 2  # T2 and T5

    library = boss.get(ECHARTS_URL)
    assert library.status_code == 200 and b"echarts" in library.content[:2000]


def test_bad_filters_are_explained_and_the_default_period_shown(desk: DeskServer) -> None:
    boss = desk.agent("boss", Role.SUPERVISOR)
    for params, message in (
        ({"period": "2026-13"}, "统计区间的日期无效"),
        ({"channel": "fax"}, "未知的渠道"),
        ({"category": "<script>"}, "未知的投诉类别"),
        ({"region": "地" * 65}, "地区筛选条件过长"),
    ):
        page = boss.get("/analysis", params=params)
        assert page.status_code == 400 and message in page.text, params
        assert "<script>" not in page.text.split("analysis-data")[0].split("<main>")[1]


def test_user_content_is_escaped_in_the_chart_data(desk: DeskServer) -> None:
    with desk.db.transaction() as session:
        january_2026(session)
        from sqlalchemy import update

        from bot.models import Ticket

        session.execute(update(Ticket).where(Ticket.region == "北京分公司").values(region="</script><b>x"))
    page = desk.agent("boss", Role.SUPERVISOR).get("/analysis", params={"period": "2026-01"})
    assert "</script><b>x" not in page.text and "&lt;/script&gt;&lt;b&gt;x" in page.text
    assert any(row["key"] == "</script><b>x" for row in _chart_data(page.text)["regions"])


def test_the_excel_download_is_for_supervisors_and_holds_the_page_s_figures(desk: DeskServer) -> None:
    with desk.db.transaction() as session:
        january_2026(session)
    assert desk.agent("li").get("/analysis.xlsx").status_code == 403
    boss = desk.agent("boss", Role.SUPERVISOR)
    page = boss.get("/analysis", params={"period": "2026-01", "channel": "wechat"})
    link = re.search(r'id="download-xlsx" href="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    assert link == "/analysis.xlsx?period=2026-01-01..2026-02-01&channel=wechat"
    download = boss.get(link)
    assert download.status_code == 200
    assert download.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="complaint-analysis-2026-01-01-2026-01-31.xlsx"' in download.headers["Content-Disposition"]
    overview = {row[0]: row[1] for row in load_workbook(BytesIO(download.content))["概况"].iter_rows(values_only=True)}
    assert overview["投诉总量"] == 2 and overview["筛选条件"] == "渠道：微信公众号"
    refused = boss.get("/analysis.xlsx", params={"period": "2026-99"})
    assert refused.status_code == 400 and "统计区间的日期无效" in refused.text


def test_exports_are_for_supervisors_only(desk: DeskServer) -> None:
    li = desk.agent("li")
    for path in ("/analysis/report.html", "/analysis/report.pdf", "/analysis/tickets.csv"):
        page = li.get(path)
        assert page.status_code == 403 and SUPERVISORS_ONLY in page.text, path
    for reason in ("核对", ""):
        page = li.post("/analysis/tickets.csv", data={"period": "2026-01", "reason": reason})
        assert page.status_code == 403 and SUPERVISORS_ONLY in page.text
    bad = desk.agent("boss", Role.SUPERVISOR).get("/analysis/tickets.csv", params={"period": "2026-13"})
    assert bad.status_code == 400 and "统计区间的日期无效" in bad.text


def test_a_supervisor_downloads_the_report_as_html_and_pdf(desk: DeskServer) -> None:
    with desk.db.transaction() as session:
        january_2026(session)
    boss = desk.agent("boss", Role.SUPERVISOR)
    page = boss.get("/analysis", params={"period": "2026-01", "channel": "wechat"}).text
    for link in ("report.pdf", "report.html", "tickets.csv"):
        assert f'href="/analysis/{link}?period=2026-01-01..2026-02-01&amp;channel=wechat' in page
    html = boss.get("/analysis/report.html", params={"period": "2026-01"})
    assert html.status_code == 200 and "attachment" in html.headers["Content-Disposition"]
    assert "<h2>三、典型案例</h2>" in html.text and "data:image/svg+xml;base64," in html.text
    if not chromium_path().is_file():
        pytest.skip("Debian Chromium not installed (scripts/install-chromium)")
    pdf = boss.get("/analysis/report.pdf", params={"period": "2026-01"})
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.headers["Content-Disposition"] == 'attachment; filename="complaint-report-2026-01-01-2026-01-31.pdf"'
    text = pdf_text(pdf.content)
    assert all(title in text for title in SECTIONS) and "理赔纠纷" in text


def test_the_pdf_without_chromium_is_explained(desk_factory) -> None:
    desk = desk_factory(REPORT_CHROMIUM="/nonexistent/chromium")
    page = desk.agent("boss", Role.SUPERVISOR).get("/analysis/report.pdf")
    assert page.status_code == 503 and "服务器未安装 Chromium" in page.text


def test_the_csv_is_masked_unless_asked_and_the_unmasked_export_is_audited(desk: DeskServer) -> None:
    with desk.db.transaction() as session:
        january_2026(session)
    boss = desk.agent("boss", Role.SUPERVISOR)
    masked = boss.get("/analysis/tickets.csv", params={"period": "2026-01", "channel": "wechat"})
    assert masked.status_code == 200 and masked.headers["Content-Type"].startswith("text/csv")
    assert "138****2222" in masked.text and PHONE_B not in masked.text
    # The unmasked export is no link: a GET asking for it is refused, whatever else it says.
    link = boss.get("/analysis/tickets.csv", params={"period": "2026-01", "unmasked": "1", "reason": "核对"})
    assert link.status_code == 405 and link.headers["Allow"] == "POST" and PHONE_B not in link.text
    assert "未脱敏导出须在分析页填写导出原因后提交" in link.text
    # The page's form: CSRF token, the shown period and filters, a reason.
    page = boss.get("/analysis", params={"period": "2026-01", "channel": "wechat"}).text
    form = page.split('id="unmasked-export"', 1)[1].split("</form>", 1)[0]
    fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form))
    assert fields == {"csrf_token": boss.csrf, "period": "2026-01-01..2026-02-01", "channel": "wechat"}
    refused = boss.post("/analysis/tickets.csv", data={**fields, "reason": " "})
    assert refused.status_code == 400 and "请填写导出原因" in refused.text
    forged = boss.post("/analysis/tickets.csv", data={**fields, "csrf_token": "forged", "reason": "核对"}, csrf=False)
    assert forged.status_code == 403 and PHONE_B not in forged.text
    unmasked = boss.post("/analysis/tickets.csv", data={**fields, "reason": "配合  监管检查"}, csrf=False)
    assert unmasked.status_code == 200 and PHONE_B in unmasked.text
    assert "tickets-unmasked" in unmasked.headers["Content-Disposition"]
    with desk.db.transaction() as session:
        audits = [
            (row.actor, row.unmasked, row.rows, row.scope, row.reason)
            for row in session.query(DataExport).order_by("id")
        ]
    scope = "period=2026-01-01..2026-02-01&channel=wechat"
    assert audits == [("boss", False, 2, scope, None), ("boss", True, 2, scope, "配合 监管检查")]


def test_the_assistant_section_says_when_conversations_cannot_be_read(desk: DeskServer) -> None:
    page = desk.agent("boss", Role.SUPERVISOR).get("/analysis", params={"period": "2026-01"}).text
    assert "智能助手" in page and "暂时无法读取对话记录" in page
    assert '<strong id="assistant-self-service">—</strong>' in page
