"""The analysis page: the report for a period and filters, ECharts served by the desk; agents get 403."""

from __future__ import annotations

import json
import re
from io import BytesIO

from openpyxl import load_workbook

from bot.agents import Role
from bot.desk.analysis import ECHARTS_URL
from tests.bot.analysis.dataset import january_2026
from tests.bot.desk.server import DeskServer

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
