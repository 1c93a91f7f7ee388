from bot.desk.transcript import transcript

EVENTS = [
    {"event": "action", "name": "action_listen", "timestamp": 1.0},
    {"event": "user", "text": "我要转人工，电话13812345678", "timestamp": 2.0},
    {"event": "bot", "text": "已为您转接人工客服", "timestamp": 3.0},
    {"event": "pause", "timestamp": 3.1},
    {
        "event": "bot",
        "text": "您好，我是客服王小明",
        "timestamp": 4.0,
        "metadata": {"agent": {"id": 1, "name": "王小明"}},
    },
    {"event": "user", "text": "", "timestamp": 4.5},
    {"event": "resume", "timestamp": 5.0},
]


def test_the_agent_reads_who_said_what_with_numbers_masked():
    lines = transcript(EVENTS)
    assert [(line.role, line.text, line.agent_name) for line in lines] == [
        ("user", "我要转人工，电话138****5678", None),
        ("bot", "已为您转接人工客服", None),
        ("system", "会话已转人工，机器人暂停回复", None),
        ("agent", "您好，我是客服王小明", "王小明"),
        ("system", "会话已交回机器人", None),
    ]


def test_live_updates_start_after_the_last_line_seen():
    assert [line.seq for line in transcript(EVENTS, after=3)] == [4, 6]


def test_a_pressed_button_shows_its_title_not_the_intent_payload():
    pressed = {
        "event": "user",
        "text": '/inform{"complaint_category":"claims"}',
        "timestamp": 6.0,
        "metadata": {"button_title": "理赔纠纷"},
    }
    [line] = transcript([pressed])
    assert (line.role, line.text) == ("user", "理赔纠纷")
