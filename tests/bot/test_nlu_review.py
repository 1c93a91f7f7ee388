"""The review loop: unclear messages from the tracker store, grouped and masked; reviews; the export."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
import yaml
from alembic import command
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.loading import load_data
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.db import Database
from bot.models import NluMark, NluReview
from bot.nlu_review import (
    NluReviews,
    ReviewError,
    domain_entities,
    domain_intents,
    entity_spans,
    entity_values,
    export_yaml,
    group_key,
    grouped,
    training_texts,
    unclear_messages,
)
from bot.settings import PROJECT_ROOT
from tests.bot.command_line import cli
from tests.bot.test_crypto import _alembic, empty_url  # noqa: F401 (a fixture: migrations on an empty database)

INTENTS = domain_intents(PROJECT_ROOT / "domain.yml")
ENTITIES = domain_entities(PROJECT_ROOT / "domain.yml")
VALUES = entity_values(PROJECT_ROOT / "data" / "nlu")
NOW = datetime(2026, 12, 6, 8, 0, tzinfo=timezone.utc)


def user(text: str, intent: str, confidence: float, at: float) -> str:
    parse = {"intent": {"name": intent, "confidence": confidence}, "entities": [], "text": text}
    return json.dumps({"event": "user", "text": text, "timestamp": at, "parse_data": parse})


def pause(at: float) -> str:
    return json.dumps({"event": "pause", "timestamp": at})


def test_fallbacks_guesses_and_the_message_before_a_handoff_are_unclear():
    events = [
        ("a", user("我要投诉", "complain", 0.98, 1)),
        ("a", user("那个钱咋还不到账 电话13812345678", "nlu_fallback", 0.3, 2)),
        ("b", user("你们老总电话多少", "greet", 0.45, 3)),
        ("c", user("我想问下我那个事", "complain", 0.9, 4)),
        ("c", user("转人工", "request_human", 0.99, 5)),
        ("c", pause(6)),
        ("d", user('/ask_claim_materials{"claim_type":"death"}', "nlu_fallback", 0.1, 7)),
    ]
    found = {(m.conversation_id, m.text, m.reason) for m in unclear_messages(events)}
    assert found == {
        ("a", "那个钱咋还不到账 电话138****5678", "fallback"),
        ("b", "你们老总电话多少", "low_confidence"),
        ("c", "我想问下我那个事", "before_handoff"),
    }


def test_a_fallback_that_leads_to_a_handoff_counts_once_with_both_reasons():
    events = [("a", user("咋整啊", "nlu_fallback", 0.2, 1)), ("a", pause(2))]
    [group] = grouped(unclear_messages(events))
    assert group.count == 1 and group.reasons == {"fallback", "before_handoff"}


def test_similar_messages_are_one_group_and_reviewed_keys_are_left_out():
    events = [
        ("a", user("电话13812345678打不通！！", "nlu_fallback", 0.2, 1)),
        ("b", user("電話 13900001111 打不通", "nlu_fallback", 0.2, 2)),
        ("c", user("人呢", "greet", 0.5, 3)),
    ]
    groups = grouped(unclear_messages(events))
    assert [(g.count, g.texts) for g in groups] == [
        (2, ["电话138****5678打不通！！", "電話 139****1111 打不通"]),
        (1, ["人呢"]),
    ]
    assert group_key("人呢") not in {g.key for g in grouped(unclear_messages(events), {group_key("人呢")})}


def write(conversations, name: str, *events) -> None:
    sender = conversations.prefix + name
    tracker = DialogueStateTracker.from_events(sender, list(events))
    asyncio.run(conversations.store.save(tracker))


def utterance(text: str, intent: str, confidence: float) -> UserUttered:
    parse = {"intent": {"name": intent, "confidence": confidence}, "entities": [], "text": text}
    return UserUttered(text, parse["intent"], [], parse)


def test_a_reviewed_group_leaves_the_list_and_is_stored_masked(db, conversations):
    write(
        conversations,
        "one",
        utterance("我不想跟机器讲 13812345678", "bot_challenge", 0.5),
        ActionExecuted("action_listen"),
        utterance("你们招人吗", "nlu_fallback", 0.3),
    )
    reviews = NluReviews(db, conversations.events, INTENTS, clock=lambda: NOW)
    # The tracker store on PostgreSQL is the session's: other tests' conversations may be there too.
    pending = {g.texts[0]: g.key for g in reviews.pending()}
    assert {"我不想跟机器讲 138****5678", "你们招人吗"} <= set(pending)
    with pytest.raises(ReviewError):
        reviews.review(pending["你们招人吗"], "no_such_intent", "zhao")
    saved = reviews.review(pending["我不想跟机器讲 138****5678"], "request_human", "zhao")
    assert (saved["text"], saved["intent"], saved["reviewer"]) == (
        "我不想跟机器讲 138****5678",
        "request_human",
        "zhao",
    )
    still = [g.texts[0] for g in reviews.pending()]
    assert "你们招人吗" in still and "我不想跟机器讲 138****5678" not in still
    with pytest.raises(ReviewError):  # reviewed already: a second reviewer is told to refresh
        reviews.review(pending["我不想跟机器讲 138****5678"], "greet", "li")
    with db.transaction() as session:
        assert [row.text for row in session.query(NluReview)] == ["我不想跟机器讲 138****5678"]


def test_the_export_leaves_out_what_the_training_data_has_and_brackets_rasa_would_read():
    reviews = [
        {"text": "我要人工", "intent": "request_human"},  # already training data (data/nlu/conversation.yml)
        {"text": "机器人听不懂[你](谁)说啥", "intent": "request_human"},
        {"text": "你们招人吗\n在线等", "intent": "out_of_scope"},
    ]
    text, count = export_yaml(reviews, training_texts(PROJECT_ROOT / "data" / "nlu"), NOW)
    assert count == 2
    data = yaml.safe_load(text)
    assert data["nlu"] == [
        {"intent": "out_of_scope", "examples": "- 你们招人吗 在线等\n"},
        {"intent": "request_human", "examples": "- 机器人听不懂【你】(谁)说啥\n"},
    ]


def test_exported_reviews_pass_rasa_data_validate_with_the_project_data(sqlite_db, settings, tmp_path):
    with sqlite_db.transaction() as session:
        for key, text, intent, entities in [
            ("a", "机器人我不要 给我换人", "request_human", None),
            ("b", "你们公司招不招司机", "out_of_scope", None),
            (
                "c",
                "上回反映那个TS20261201000007有信儿没",
                "check_ticket_status",
                [{"entity": "ticket_id", "value": "TS20261201000007"}],
            ),
            (
                "d",
                "我爸住院了 理赔要准备啥",
                "ask_claim_materials",
                [{"entity": "claim_type", "value": "住院", "normalised": "medical"}],
            ),
            (
                "e",
                "电话138****5678 退保退的钱太少了",
                "complain",
                [{"entity": "complaint_category", "value": "退保", "normalised": "surrender"}],
            ),
        ]:
            spans = entity_spans(text, entities, ENTITIES, VALUES) or None
            session.add(
                NluReview(text_key=key, text=text, intent=intent, entities=spans, reviewer="zhao", reviewed_at=NOW)
            )
    output = tmp_path / "reviewed.yml"
    done = cli(tmp_path, "nlu", "export-reviewed", str(output))
    assert done.returncode == 0, done.stderr
    assert "5 reviewed example(s)" in done.stdout
    written = output.read_text(encoding="utf-8")
    assert "- 上回反映那个[TS20261201000007](ticket_id)有信儿没" in written
    assert '- 我爸[住院]{"entity": "claim_type", "value": "medical"}了 理赔要准备啥' in written
    assert '- 电话138****5678 [退保]{"entity": "complaint_category", "value": "surrender"}退的钱太少了' in written
    assert "# 1 example(s) hold a masked number" in written
    loaded = {m.get("intent"): m for m in load_data(str(output)).intent_examples}
    assert loaded["ask_claim_materials"].get("text") == "我爸住院了 理赔要准备啥"
    assert [(e["entity"], e["start"], e["end"], e["value"]) for e in loaded["ask_claim_materials"].get("entities")] == [
        ("claim_type", 2, 4, "medical")
    ]
    assert [(e["entity"], e["value"]) for e in loaded["check_ticket_status"].get("entities")] == [
        ("ticket_id", "TS20261201000007")
    ]
    validated = subprocess.run(
        [
            sys.executable,
            "-m",
            "rasa",
            "data",
            "validate",
            "--domain",
            "domain.yml",
            "--data",
            "data",
            str(output),
            "--config",
            "config.yml",
            "--fail-on-warnings",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
    )
    assert validated.returncode == 0, validated.stdout[-3000:] + validated.stderr[-3000:]


def test_the_export_refuses_anything_but_a_yaml_file(tmp_path):
    done = cli(tmp_path, "nlu", "export-reviewed", str(tmp_path / "reviewed.txt"))
    assert done.returncode == 2 and ".yml" in done.stderr


def test_an_agents_mark_makes_an_understood_message_unclear():
    events = [("a", user("上回那事咋样了", "greet", 0.97, 1.5)), ("b", user("上回那事咋样了", "greet", 0.97, 1.5))]
    assert unclear_messages(events) == []
    [found] = unclear_messages(events, marked={("a", 1.5)})
    assert (found.conversation_id, found.reason) == ("a", "marked")
    assert grouped([found])[0].as_dict()["reasons"] == ["坐席标记"]


def test_marks_are_checked_against_the_conversation_and_listed(db, conversations):
    write(
        conversations,
        "held",
        UserUttered("你们那个事 13812345678", {"name": "greet", "confidence": 0.99}, timestamp=1000.25),
        UserUttered("/affirm", {"name": "affirm", "confidence": 1.0}, timestamp=1001.5),
    )
    write(conversations, "other", UserUttered("别人说的", {"name": "greet", "confidence": 0.99}, timestamp=2000.5))
    reviews = NluReviews(db, conversations.events, INTENTS, clock=lambda: NOW)
    held = conversations.prefix + "held"
    with pytest.raises(ReviewError, match="没有这条用户消息"):
        reviews.mark(held, 2000.5, 1, "li")  # the other conversation's message
    with pytest.raises(ReviewError, match="按钮"):
        reviews.mark(held, 1001.5, 1, "li")
    assert reviews.mark(held, 1000.2504, 1, "li") is True
    assert reviews.mark(held, 1000.25, 1, "wang") is False  # marked already
    [group] = [g for g in reviews.pending() if "你们那个事 138****5678" in g.texts]
    assert group.reasons == {"marked"} and group.count == 1


def test_entities_are_placed_on_the_text_but_never_on_a_masked_number():
    text = "身份证110105********0021 我爸住院 住院的钱"
    assert entity_spans(text, None, ENTITIES) == []
    placed = entity_spans(
        text, [{"entity": "claim_type", "value": "住院"}, {"entity": "claim_type", "value": "住院"}], ENTITIES
    )
    assert [(e["start"], e["end"]) for e in placed] == [(24, 26), (27, 29)]  # the second occurrence for the second
    refusals = {
        "已打码的号码不能标注为实体": [{"entity": "id_number", "value": "110105********0021"}],
        "已打码": [{"entity": "id_number", "value": "0021"}],  # the visible end of a masked number
        "不在消息中": [{"entity": "claim_type", "value": "门诊"}],
        "领域文件中的实体类型": [{"entity": "no_such_entity", "value": "住院"}],
        "括号": [{"entity": "claim_type", "value": "住院]"}],
        "实体最多": [{"entity": "claim_type", "value": "住院"}] * 11,
    }
    for message, entities in refusals.items():
        with pytest.raises(ReviewError, match=message):
            entity_spans(text, entities, ENTITIES)
    # An entity the training data gives normalised values needs one of them, as the training data has.
    for normalised in (None, "hospital"):
        with pytest.raises(ReviewError, match="请为实体 claim_type 选择取值"):
            entity_spans(text, [{"entity": "claim_type", "value": "住院", "normalised": normalised}], ENTITIES, VALUES)
    hospital = [{"entity": "claim_type", "value": "住院", "normalised": "medical"}]
    [medical] = entity_spans(text, hospital, ENTITIES, VALUES)
    assert medical["normalised"] == "medical"
    for bad in ("住院", [None], [{"entity": "claim_type", "value": ""}], [{"entity": "claim_type", "value": 3}]):
        with pytest.raises(ReviewError):
            entity_spans(text, bad, ENTITIES)
    with pytest.raises(ReviewError, match="重叠"):
        overlapping = [{"entity": "claim_type", "value": "我爸住院"}, {"entity": "claim_type", "value": "爸住"}]
        entity_spans(text, overlapping, ENTITIES)


def test_a_review_keeps_its_entities_for_the_export(db, conversations):
    write(conversations, "one", utterance("我妈住院了 要啥材料 电话13812345678", "nlu_fallback", 0.2))
    reviews = NluReviews(db, conversations.events, INTENTS, clock=lambda: NOW, entities=ENTITIES, entity_values=VALUES)
    [key] = [g.key for g in reviews.pending() if "我妈住院了 要啥材料 电话138****5678" in g.texts]
    with pytest.raises(ReviewError, match="已打码"):
        reviews.review(key, "ask_claim_materials", "sun", [{"entity": "phone_number", "value": "138****5678"}])
    entities = [{"entity": "claim_type", "value": "住院", "normalised": "medical"}]
    saved = reviews.review(key, "ask_claim_materials", "sun", entities)
    assert saved["entities"] == [{**entities[0], "start": 2, "end": 4}]
    text, count = export_yaml(reviews.reviewed(), set(), NOW)
    assert count == 1
    assert '    - 我妈[住院]{"entity": "claim_type", "value": "medical"}了 要啥材料 电话138****5678\n' in text


def test_migration_0017_keeps_earlier_reviews_and_goes_back(empty_url):
    command.upgrade(_alembic(empty_url), "0016")
    engine = sa.create_engine(empty_url, future=True)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO nlu_reviews (text_key, text, intent, reviewer, reviewed_at)"
                    " VALUES ('人呢', '人呢', 'request_human', 'zhao', :now)"
                ),
                {"now": NOW},
            )
        command.upgrade(_alembic(empty_url), "head")
        db = Database(empty_url)
        try:
            with db.transaction() as session:
                assert session.execute(select(NluReview)).scalar_one().as_dict()["entities"] == []
                session.add(NluMark(conversation_id="c", event_at=1.5, handoff_id=1, marked_by="li", marked_at=NOW))
            with pytest.raises(IntegrityError), db.transaction() as session:  # one mark per message
                session.add(NluMark(conversation_id="c", event_at=1.5, handoff_id=1, marked_by="wang", marked_at=NOW))
        finally:
            db.dispose()
        command.downgrade(_alembic(empty_url), "0016")
        with engine.connect() as connection:
            assert not sa.inspect(connection).has_table("nlu_marks")
            assert connection.execute(sa.text("SELECT text FROM nlu_reviews")).scalar_one() == "人呢"
        command.upgrade(_alembic(empty_url), "head")
    finally:
        engine.dispose()
