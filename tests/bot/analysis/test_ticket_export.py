"""The ticket list as CSV: masked by default, unmasked only when asked, every export recorded, bounded."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.analysis.periods import Period, PeriodError
from bot.analysis.scope import Scope
from bot.analysis.ticket_export import HEAD, TicketExport
from bot.db import Database
from bot.models import DataExport
from bot.taxonomy import Taxonomy
from tests.bot.analysis.dataset import PHONE_B, add, january_2026
from tests.bot.sample_tickets import shanghai
from tests.databases import make_settings

ID_NUMBER = "11010519491231002X"


def _export(db: Database, tmp_path: Path, max_rows: int = 1000) -> TicketExport:
    settings = make_settings(tmp_path, DATABASE_URL=db.url)
    return TicketExport(
        db, Taxonomy.load(settings.taxonomy_file), ZoneInfo("Asia/Shanghai"), {"wechat": "微信公众号"}, max_rows
    )


def _rows(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode("utf-8"))  # Excel reads UTF-8 with the byte order mark
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def _seed(db: Database) -> None:
    with db.transaction() as session:
        january_2026(session)
        add(
            session,
            shanghai(2026, 1, 25, 9),
            phone_number="13700001234",
            description=f"身份证{ID_NUMBER}，电话13700001234",
            customer_request='=HYPERLINK("http://x")',
        )


def _audits(db: Database) -> list[tuple[str, bool, int, str]]:
    with db.transaction() as session:
        rows = session.execute(select(DataExport.actor, DataExport.unmasked, DataExport.rows, DataExport.scope))
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_the_default_export_masks_phones_and_id_numbers(db: Database, tmp_path: Path) -> None:
    _seed(db)
    rows = _rows(_export(db, tmp_path).csv(Scope(Period.month(2026, 1)), "boss", False, "period=2026-01"))
    assert rows[0] == list(HEAD) and len(rows) == 1 + 7  # January's six complaints and the one added
    first = dict(zip(HEAD, rows[1]))
    assert first["受理时间"] == "2026-01-01 00:30" and first["投诉类别"] == "理赔纠纷"
    assert first["手机号"] == "139****0001" and first["业管可控"] == "可控" and first["满意度"] == "不满意"
    (added,) = [dict(zip(HEAD, row)) for row in rows if row[HEAD.index("投诉事项")].startswith("身份证")]
    assert added["手机号"] == "137****1234" and added["投诉事项"] == "身份证110105********002X，电话137****1234"
    assert ID_NUMBER not in added["投诉事项"] and "13700001234" not in added["投诉事项"]
    assert added["诉求"].startswith("'=")  # not a formula when opened in a spreadsheet
    assert PHONE_B not in "".join(",".join(row) for row in rows)
    assert _audits(db) == [("boss", False, 7, "period=2026-01")]


def test_the_unmasked_export_shows_the_numbers_and_is_recorded(db: Database, tmp_path: Path) -> None:
    _seed(db)
    scope = Scope(Period.month(2026, 1), channel="wechat")
    rows = _rows(_export(db, tmp_path).csv(scope, "chief", True, "period=2026-01&channel=wechat"))
    assert [dict(zip(HEAD, row))["手机号"] for row in rows[1:]] == [PHONE_B, "18612344444"]
    assert _audits(db) == [("chief", True, 2, "period=2026-01&channel=wechat")]


def test_too_large_an_export_is_refused_and_not_recorded(db: Database, tmp_path: Path) -> None:
    _seed(db)
    with pytest.raises(PeriodError, match="共7条，超过单次导出上限5条"):
        _export(db, tmp_path, max_rows=5).csv(Scope(Period.month(2026, 1)), "boss", True, "period=2026-01")
    assert _audits(db) == []
