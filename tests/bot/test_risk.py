"""Threat detection and the stored form of risk flags."""

import pytest

from bot.risk import describe, detect, flags_of, stored_flags, thanks_without_threat


@pytest.mark.parametrize(
    "text, flags",
    [
        ("我已经联系了电视台记者", ["media"]),
        ("找315晚会曝光你们", ["media"]),
        ("我要打12378投诉你们", ["regulator"]),
        ("我去国家金融监督管理总局告你们", ["regulator", "lawsuit"]),
        ("咱们法院见", ["lawsuit"]),
        ("等着收律师函吧", ["lawsuit"]),
        ("信不信我去你们公司门口拉横幅", ["violence"]),
        ("再不赔我就跳楼", ["violence"]),
        ("理赔拖了两个月还没有结果", []),
        ("请告知需要哪些材料", []),
    ],
)
def test_detect(text, flags):
    assert detect([text]) == flags


def test_flags_from_several_messages_come_in_canonical_order():
    assert detect(["我要起诉", None, "还要找媒体"]) == ["media", "lawsuit"]


def test_stored_form_round_trips_and_refuses_unknown_flags():
    assert stored_flags(["lawsuit", "media"]) == "media,lawsuit" and stored_flags([]) is None
    assert flags_of("media,lawsuit,bogus") == ["media", "lawsuit"] and flags_of(None) == []
    assert describe(["media", "violence"]) == "媒体曝光、人身安全"
    with pytest.raises(ValueError):
        stored_flags(["fire"])


def test_a_spooled_threat_is_flagged_and_alerted_once_when_replayed(db, settings, tmp_path):
    from bot.alerts import Alerts
    from bot.spool import ComplaintSpool
    from bot.tickets import TicketService
    from tests.bot.sample_tickets import SUPERVISOR, draft

    spool = ComplaintSpool(tmp_path / "spool")
    spool.put("conv-9:1", draft(risk_flags=("media",)))
    service = TicketService(db, settings)
    [receipt] = spool.drain(service)
    service.submit(draft(risk_flags=("media",)), "conv-9:1")  # the same submission again
    ticket = service.get(receipt.ticket_no)
    assert ticket["risk_flags"] == "media" and ticket["priority"] == 100
    assert [alert["ticket_no"] for alert in Alerts(db).list(SUPERVISOR)] == [receipt.ticket_no]


@pytest.mark.parametrize(
    "text, thanks",
    [("哦 那就等着吧 谢谢", True), ("辛苦了", True), ("谢谢 我会去银保监会投诉你们", False), ("你们等着", False)],
)
def test_thanks_without_a_threat(text, thanks):
    assert thanks_without_threat(text) is thanks
