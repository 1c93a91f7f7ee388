"""The REST channel's mailbox (bot/channels/rest.py); its webhook is tested in tests/e2e/test_rest_channel.py."""

from bot.channels.rest import MAX_MESSAGES, bot_messages_after


def test_the_mailbox_returns_bot_and_agent_messages_newer_than_asked():
    events = [
        {"event": "user", "text": "转人工", "timestamp": 1.0},
        {"event": "bot", "text": "已为您转接", "timestamp": 2.0},
        {"event": "bot", "text": "我是客服王小明", "timestamp": 3.0, "metadata": {"agent": {"name": "王小明"}}},
    ]
    assert bot_messages_after(events, 1.5) == [
        {"text": "已为您转接", "timestamp": 2.0, "agent": None},
        {"text": "我是客服王小明", "timestamp": 3.0, "agent": "王小明"},
    ]
    assert bot_messages_after(events, 3.0) == []


def test_the_mailbox_is_bounded():
    events = [{"event": "bot", "text": str(i), "timestamp": float(i)} for i in range(1, 300)]
    messages = bot_messages_after(events, 0)
    assert len(messages) == MAX_MESSAGES and messages[-1]["text"] == "299"


def test_the_mailbox_keeps_a_messages_buttons():
    buttons = [{"title": "满意", "payload": '/rate{"rating":"satisfied"}'}, "not a button"]
    events = [{"event": "bot", "text": "请您评价", "timestamp": 2.0, "data": {"buttons": buttons}}]
    assert bot_messages_after(events, 0) == [
        {
            "text": "请您评价",
            "timestamp": 2.0,
            "agent": None,
            "buttons": [{"title": "满意", "payload": '/rate{"rating":"satisfied"}'}],
        }
    ]
