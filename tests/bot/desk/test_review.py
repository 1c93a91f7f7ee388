"""The review page: supervisors and trainers only, personal numbers masked, one review per group; agents' marks."""

from __future__ import annotations

import asyncio

from rasa.shared.core.events import ConversationPaused, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.agents import Role
from bot.models import NluMark
from tests.bot.conversations import Conversations


def utterance(text: str, intent: str, confidence: float) -> UserUttered:
    parse = {"intent": {"name": intent, "confidence": confidence}, "entities": [], "text": text}
    return UserUttered(text, parse["intent"], [], parse)


def unclear_conversation(desk, tmp_path) -> Conversations:
    conversations = Conversations.beside(desk.db, tmp_path)
    events = [
        utterance("身份证110105194912310021 电话１３８１２３４５６７８ 钱呢<b>", "nlu_fallback", 0.2),
        utterance("我说了半天你都不懂", "greet", 0.5),
        utterance("转人工", "request_human", 0.99),
        ConversationPaused(),
    ]
    asyncio.run(conversations.store.save(DialogueStateTracker.from_events(conversations.prefix + "x", events)))
    return conversations


def test_agents_are_refused_the_page_and_the_review(desk, tmp_path):
    unclear_conversation(desk, tmp_path)
    wang = desk.agent("wang")
    assert wang.get("/review").status_code == 403
    response = wang.post("/api/review", json={"key": "x", "intent": "greet"})
    assert response.status_code == 403


def test_a_supervisor_sees_unclear_messages_masked_and_escaped(desk, tmp_path):
    unclear_conversation(desk, tmp_path)
    zhao = desk.agent("zhao", Role.SUPERVISOR)
    page = zhao.get("/review")
    assert page.status_code == 200
    assert "110105********0021" in page.text and "138****5678" in page.text
    assert "110105194912310021" not in page.text and "１２３４" not in page.text
    assert "&lt;b&gt;" in page.text and "<b>" not in page.text
    assert "我说了半天你都不懂" in page.text and "转人工前" in page.text
    assert '<option value="out_of_scope">' in page.text


def test_a_reviewed_group_leaves_the_page_and_cannot_be_reviewed_twice(desk, tmp_path):
    unclear_conversation(desk, tmp_path)
    zhao, qian = desk.agent("zhao", Role.SUPERVISOR), desk.agent("qian", Role.SUPERVISOR)
    key = zhao.get("/review").text.split('data-key="')[2].split('"')[0]
    assert zhao.post("/api/review", json={"key": key, "intent": "made_up"}).status_code == 409
    saved = zhao.post("/api/review", json={"key": key, "intent": "request_human"})
    assert saved.status_code == 200 and saved.json()["review"]["reviewer"] == "zhao"
    again = qian.post("/api/review", json={"key": key, "intent": "greet"})
    assert again.status_code == 409 and "刷新" in again.json()["error"]
    assert f'data-key="{key}"' not in zhao.get("/review").text


def test_bad_review_requests_are_answered_in_chinese(desk):
    zhao = desk.agent("zhao", Role.SUPERVISOR)
    for body in [{}, {"key": "", "intent": "greet"}, {"key": "x" * 201, "intent": "greet"}, {"key": "a", "intent": 3}]:
        response = zhao.post("/api/review", json=body)
        assert response.status_code == 400 and response.json()["error"] == "请选择一组消息和一个意图"
    assert zhao.post("/api/review", json={"key": "a", "intent": "greet"}, csrf=False).status_code == 403


# -- the trainer role ----------------------------------------------------------------


def test_a_trainer_reviews_and_sees_nothing_else(desk, tmp_path):
    unclear_conversation(desk, tmp_path)
    request_id = desk.handoff("conv-1")
    sun = desk.agent("sun", Role.TRAINER)
    assert sun.get("/").headers["Location"] == "/review"  # where a login lands
    page = sun.get("/review")
    assert page.status_code == 200 and "138****5678" in page.text and "训练师" in page.text
    assert 'href="/tickets"' not in page.text and 'href="/analysis"' not in page.text
    for path in ("/tickets", "/analysis", f"/conversations/{request_id}", "/alerts", "/tickets/TS20260101000001"):
        refused = sun.get(path)
        assert refused.status_code == 403 and "训练师账号只能使用消息审核" in refused.text, path
    for path in ("/api/queue", f"/api/handoffs/{request_id}", "/api/tickets/TS20260101000001", "/api/ticket-changes"):
        assert sun.get(path).status_code == 403, path
    claim = sun.post(f"/api/handoffs/{request_id}/claim")
    assert claim.status_code == 403 and claim.json()["error"] == "训练师账号只能使用消息审核"
    assert desk.agent("li").get("/api/queue").json()["waiting"][0]["id"] == request_id  # still waiting
    key = page.text.split('data-key="')[1].split('"')[0]
    saved = sun.post("/api/review", json={"key": key, "intent": "out_of_scope"})
    assert saved.status_code == 200 and saved.json()["review"]["reviewer"] == "sun"
    assert sun.post("/api/review", json={"key": key, "intent": "greet"}, csrf=False).status_code == 403


def test_a_trainer_is_never_someone_a_conversation_goes_to(desk):
    request_id = desk.handoff("conv-1")
    desk.agent("sun", Role.TRAINER)
    li, boss = desk.agent("li"), desk.agent("boss", Role.SUPERVISOR)
    assert "sun" not in {account["username"] for account in boss.get("/api/agents").json()["agents"]}
    li.post(f"/api/handoffs/{request_id}/claim")
    moved = boss.post(f"/api/handoffs/{request_id}/reassign", json={"agent": "sun"})
    assert moved.status_code in (403, 409) and moved.json()["error"] == "没有这个在职坐席"


# -- agents mark messages -------------------------------------------------------------

HELD_AT = 1_765_000_000.123456


def held_conversation(desk, tmp_path):
    """A conversation in the tracker store, queued for the desk; (conversations, handoff id, its conversation id)."""
    conversations = Conversations.beside(desk.db, tmp_path)
    sender = conversations.prefix + "held"
    events = [
        UserUttered("你好", {"name": "greet", "confidence": 0.99}, timestamp=HELD_AT),
        UserUttered("电话13812345678 上回那事咋样了", {"name": "greet", "confidence": 0.97}, timestamp=HELD_AT + 1),
        UserUttered("我要投诉", {"name": "complain", "confidence": 0.99}, timestamp=HELD_AT + 1.5),
        UserUttered("/affirm", {"name": "affirm", "confidence": 1.0}, timestamp=HELD_AT + 2),
        ConversationPaused(timestamp=HELD_AT + 3),
    ]
    asyncio.run(conversations.store.save(DialogueStateTracker.from_events(sender, events)))
    other = conversations.prefix + "other"
    foreign = [UserUttered("别人的消息", {"name": "greet", "confidence": 0.99}, timestamp=HELD_AT + 10)]
    asyncio.run(conversations.store.save(DialogueStateTracker.from_events(other, foreign)))
    return conversations, desk.handoff(sender), sender


def test_only_the_holder_or_a_supervisor_marks_a_message_of_the_conversation(desk, tmp_path):
    conversations, request_id, _ = held_conversation(desk, tmp_path)
    li, wang, boss = desk.agent("li"), desk.agent("wang"), desk.agent("boss", Role.SUPERVISOR)
    mark = f"/api/handoffs/{request_id}/unclear"
    assert li.post(mark, json={"at": HELD_AT + 1}).status_code == 403  # not claimed yet
    li.post(f"/api/handoffs/{request_id}/claim")
    assert wang.post(mark, json={"at": HELD_AT + 1}).status_code == 403  # someone else's conversation
    assert li.post(mark, json={"at": HELD_AT + 1}, csrf=False).status_code == 403
    assert desk.agent("sun", Role.TRAINER).post(mark, json={"at": HELD_AT + 1}).status_code == 403
    foreign = li.post(mark, json={"at": HELD_AT + 10})  # a message of another conversation
    assert foreign.status_code == 422 and foreign.json()["error"] == "该会话中没有这条用户消息"
    assert li.post(mark, json={"at": HELD_AT + 2}).status_code == 422  # a pressed button
    for body in [{}, {"at": "x"}, {"at": True}, {"at": -1}, {"at": 1e300}]:
        assert li.post(mark, json=body).status_code == 400
    with desk.db.transaction() as session:
        assert session.query(NluMark).count() == 0
    assert boss.get("/review").text.count("坐席标记") == 0
    done = li.post(mark, json={"at": HELD_AT + 1.0000004})  # the page's JSON may round the timestamp
    assert done.status_code == 200 and done.json() == {"ok": True, "new": True}
    assert boss.post(mark, json={"at": HELD_AT + 1}).json() == {"ok": True, "new": False}
    with desk.db.transaction() as session:
        [row] = session.query(NluMark).all()
        assert (row.marked_by, row.handoff_id, row.event_at) == ("li", request_id, HELD_AT + 1)
    conversations.close()


def test_a_marked_message_is_listed_masked_as_marked_by_an_agent(desk, tmp_path):
    conversations, request_id, _ = held_conversation(desk, tmp_path)
    li, boss = desk.agent("li"), desk.agent("boss", Role.SUPERVISOR)
    li.post(f"/api/handoffs/{request_id}/claim")
    assert "上回那事咋样了" not in boss.get("/review").text  # understood with confidence: not unclear by itself
    assert li.post(f"/api/handoffs/{request_id}/unclear", json={"at": HELD_AT + 1}).status_code == 200
    page = boss.get("/review").text
    [row] = [row for row in page.split("<tr")[1:] if "上回那事咋样了" in row]
    assert "电话138****5678" in page and "13812345678" not in page
    assert "坐席标记" in row and "greet" in row
    conversations.close()


def test_a_reviewer_gives_entities_but_never_on_a_masked_number(desk, tmp_path):
    unclear_conversation(desk, tmp_path)
    zhao = desk.agent("zhao", Role.SUPERVISOR)
    page = zhao.get("/review").text
    assert '<option value="medical" data-entity="claim_type">' in page  # the training data's values
    [key] = [k.split('"')[0] for k in page.split('data-key="')[1:] if k.startswith("身份证")]
    masked = [{"entity": "id_number", "value": "110105********0021"}]
    refused = zhao.post("/api/review", json={"key": key, "intent": "complain", "entities": masked})
    assert refused.status_code == 409 and refused.json()["error"] == "已打码的号码不能标注为实体"
    unvalued = [{"entity": "complaint_category", "value": "钱"}]
    refused = zhao.post("/api/review", json={"key": key, "intent": "complain", "entities": unvalued})
    assert refused.status_code == 409 and "请为实体 complaint_category 选择取值" in refused.json()["error"]
    bad = zhao.post("/api/review", json={"key": key, "intent": "complain", "entities": "钱"})
    assert bad.status_code == 400
    entities = [{"entity": "complaint_category", "value": "钱", "normalised": "claims"}]
    saved = zhao.post("/api/review", json={"key": key, "intent": "complain", "entities": entities})
    assert saved.status_code == 200
    assert saved.json()["review"]["entities"] == [
        {"entity": "complaint_category", "start": 36, "end": 37, "value": "钱", "normalised": "claims"}
    ]
