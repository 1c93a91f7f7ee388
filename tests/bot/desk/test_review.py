"""The review page: supervisors only, personal numbers masked, one review per group."""

from __future__ import annotations

import asyncio

from rasa.shared.core.events import ConversationPaused, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.agents import Role
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
