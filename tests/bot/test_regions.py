"""The region of a ticket: policy-number prefix first, then the phone's province, then 未知."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import select

from bot.db import Database
from bot.models import Ticket
from bot.regions import UNKNOWN, RegionMap, phone_province
from bot.settings import PROJECT_ROOT, Settings
from bot.tickets import TicketService
from tests.bot.complaints import draft
from tests.databases import make_settings

MAP = RegionMap.parse(
    {"policy_prefixes": {"GD": "广东分公司", "GDSZ": "深圳分公司"}, "provinces": {"江苏省": "江苏分公司"}}, "test"
)
JIANGSU_PHONE = "13912345678"  # 江苏省常州市 in phonenumbers' offline data
YUNNAN_PHONE = "15012345678"  # 云南省昭通市
BEIJING_PHONE = "13800138000"  # 北京市


def test_the_longest_listed_policy_prefix_wins_over_the_phone() -> None:
    assert MAP.region_for("GDSZ2023000001", JIANGSU_PHONE) == "深圳分公司"
    assert MAP.region_for("gd2023000001", JIANGSU_PHONE) == "广东分公司"


def test_without_a_listed_prefix_the_phone_province_names_the_region() -> None:
    assert MAP.region_for("PL202300123456", JIANGSU_PHONE) == "江苏分公司"  # mapped to its branch
    assert MAP.region_for(None, YUNNAN_PHONE) == "云南省"  # no branch listed: the province itself
    assert MAP.region_for("", BEIJING_PHONE) == "北京市"


@pytest.mark.parametrize("phone", [None, "", "12345", "+85291234567", "not a phone"])
def test_without_prefix_or_mainland_phone_the_region_is_unknown(phone: str) -> None:
    assert MAP.region_for("XX1", phone) == UNKNOWN


def test_provinces_of_autonomous_regions_are_kept_whole() -> None:
    assert phone_province("13907710000") == "广西壮族自治区"


def test_a_branch_name_that_cannot_be_stored_is_refused() -> None:
    with pytest.raises(ValueError, match="branch name"):
        RegionMap.parse({"policy_prefixes": {"GD": "分" * 65}}, "test")


def test_a_missing_file_leaves_provinces_alone(tmp_path: Path) -> None:
    assert RegionMap.load(tmp_path / "none.yml").region_for("GD1", JIANGSU_PHONE) == "江苏省"


def test_a_new_ticket_stores_its_region(db: Database, tmp_path: Path) -> None:
    branches = tmp_path / "branches.yml"
    branches.write_text("policy_prefixes: {PL2023: 测试分公司}\n", encoding="utf-8")
    settings = make_settings(tmp_path, DATABASE_URL=db.url, BRANCHES_FILE=str(branches))
    service = TicketService(db, settings)
    service.submit(draft(), "k1")
    service.submit(draft(policy_number=None, phone_number=YUNNAN_PHONE), "k2")
    with db.transaction() as session:
        regions = session.execute(select(Ticket.region).order_by(Ticket.id)).scalars().all()
    assert regions == ["测试分公司", "云南省"]


def test_the_migration_fills_the_region_and_previous_complaint_of_existing_tickets(tmp_path: Path) -> None:
    url = make_settings(tmp_path).database_url
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "bot" / "migrations"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    command.upgrade(config, "0011")
    database = Database(url)
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    try:
        with database.engine.begin() as connection:
            for number, day in ((1, 1), (2, 20)):  # the same phone twice
                connection.execute(
                    sa.text(
                        "INSERT INTO tickets (id, ticket_no, submission_key, kind, conversation_id, channel, status,"
                        " category, complainant_name, phone_number, phone_hash, description, customer_request,"
                        " received_at, deadline, updated_at) VALUES (:id, :no, :key, 'complaint', 'c1', 'rest',"
                        " 'accepted', 'claims', '张三', :phone, :hash, 'd', 'r', :now, :day, :now)"
                    ),
                    {
                        "id": number,
                        "no": f"TS2026110{number}000001",
                        "key": f"k{number}",
                        "phone": database.crypto.encrypt(YUNNAN_PHONE),
                        "hash": database.crypto.digest(YUNNAN_PHONE),
                        "now": now.replace(day=day),
                        "day": now.replace(day=day).date(),
                    },
                )
        command.upgrade(config, "head")
        with database.transaction() as session:
            rows = session.execute(select(Ticket.region, Ticket.previous_complaint_at).order_by(Ticket.id)).all()
        assert [region for region, _ in rows] == ["云南省", "云南省"]
        assert rows[0][1] is None and rows[1][1].replace(tzinfo=timezone.utc) == now  # the first one
        assert Settings.from_env({}).branches_file.exists()
    finally:
        database.dispose()
