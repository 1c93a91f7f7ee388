"""The reviewed personal-information notice file."""

import dataclasses

import pytest
import yaml

from bot import consent
from bot.settings import Settings


def test_the_periods_told_are_the_periods_applied(tmp_path):
    settings = dataclasses.replace(
        Settings.from_env({"COMPLAINTS_VAR_DIR": str(tmp_path)}),
        retention_tracker_days=90,
        retention_ticket_years=7,
        retention_unfollowed_days=10,
    )
    notice = consent.load(settings.privacy_notice_file)
    short, full = notice.short_text(settings), notice.full_rules(settings)
    assert "对话记录保存90天" in short and "保存7年" in short and notice.full_text_url in short
    assert "自取消关注起保存10天" in full and "保存7年" in full
    assert "{" not in short + full


def test_health_details_are_recognised():
    notice = consent.load(Settings.from_env().privacy_notice_file)
    assert notice.mentions_health("我妈查出癌症了 保险怎么赔")
    assert notice.mentions_health("住院报销一直不给")
    assert not notice.mentions_health("退保手续费太高了")


def test_a_notice_file_missing_a_field_is_refused(tmp_path):
    raw = yaml.safe_load(Settings.from_env().privacy_notice_file.read_text("utf-8"))
    del raw["summary"]
    with pytest.raises(consent.NoticeFileError, match="summary"):
        consent.parse(raw)
    raw = yaml.safe_load(Settings.from_env().privacy_notice_file.read_text("utf-8"))
    raw["health_terms"] = "病"
    with pytest.raises(consent.NoticeFileError, match="health_terms"):
        consent.parse(raw)
