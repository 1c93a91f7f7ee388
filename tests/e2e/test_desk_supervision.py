"""Live conversations under supervision, and tickets created at the desk, as the policyholder and the agents live them.

Real parts only: the trained Rasa server with the REST channel, the action server, the desk process, one SQLite
database, Debian's Chromium.
"""

from __future__ import annotations

import time
from datetime import date

from bot import replies
from bot.agents import AgentService, Role
from bot.handoff import Availability, HandoffService
from bot.settings import Settings
from bot.tickets import TicketService
from tests.assistant import Assistant
from tests.bot.desk.client import PASSWORD, DeskClient
from tests.bot.desk.server import DeskServer
from tests.e2e.browser import DESKTOP, save_screenshot
from tests.e2e.mailbox import mailbox, wait_for_message
from tests.e2e.outbox import notices_of, send

WHISPER = "先别承诺赔付，核赔结论明天出，先安抚客户"


def queued(assistant: Assistant, desk: DeskServer, sender: str, *turns: str) -> int:
    """The policyholder says `turns`, then asks for a human while an agent is online; the handoff's id."""
    handoffs = HandoffService(desk.db, desk.settings)
    deadline = time.time() + 15
    while handoffs.availability() is not Availability.OPEN:
        assert time.time() < deadline, "no agent came online"
        time.sleep(0.2)
    for turn in turns:
        assistant.texts(sender, turn)
    waiting = [row for row in handoffs.queue() if row["conversation_id"] == sender]
    if not waiting:  # a threat queues the conversation by itself
        answer = " ".join(assistant.texts(sender, "转人工"))
        assert "转接人工客服" in answer, answer
        waiting = [row for row in handoffs.queue() if row["conversation_id"] == sender]
    [request] = waiting
    return int(request["id"])


def bot_texts(assistant: Assistant, sender: str) -> list:
    return [event.get("text") or "" for event in assistant.tracker(sender)["events"] if event["event"] == "bot"]


def test_a_supervisor_whispers_to_the_agent_then_takes_over_in_the_browser(assistant, desk, chromium):
    AgentService(desk.db).add("whisper-agent", "王小明", PASSWORD, Role.AGENT)
    AgentService(desk.db).add("whisper-boss", "周主管", PASSWORD, Role.SUPERVISOR)
    pages = []
    for username in ("whisper-agent", "whisper-boss"):  # two browsers' worth of cookies
        page = chromium.new_context(viewport=DESKTOP).new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(f"{desk.url}/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#waiting", state="attached")
        pages.append(page)
    agent, boss = pages

    sender = f"desk-e2e-whisper-{time.time_ns()}"
    request_id = queued(assistant, desk, sender, "理赔申请交了一个多月了，一直说在审核，到底还要多久？")
    agent.locator(f"li.card[data-id='{request_id}'] button.claim").click()
    agent.wait_for_url(f"**/conversations/{request_id}")
    wait_for_message(assistant, sender, 0, "我是客服王小明")
    assert agent.is_hidden("#not-holder") and agent.query_selector("#whisper") is None

    # The supervisor opens it from the queue: warned that a reply would go to the user, offered a whisper.
    boss.goto(f"{desk.url}/")
    held = boss.locator(f"#held li.card[data-id='{request_id}']")
    held.wait_for()
    assert "王小明" in held.inner_text() and "whisper-agent" not in held.inner_text()
    held.locator("button.claim").click()  # the live board re-renders: a locator, not a stale handle
    boss.wait_for_url(f"**/conversations/{request_id}")
    boss.wait_for_selector("#supervise", state="visible")
    assert boss.is_visible("#not-holder")
    assert boss.is_visible("#handoff >> text=王小明")

    whispered_at = time.time()
    boss.fill("#whisper textarea", WHISPER)
    boss.click("#whisper button[type=submit]")
    # The holding agent sees it without a reload, marked as internal and signed by the supervisor's name.
    line = agent.wait_for_selector(f"#whispers li >> text={WHISPER}", timeout=10000)
    assert line.inner_text().startswith("周主管")
    assert "用户看不到" in agent.inner_text("#whisper-box")
    save_screenshot(agent, "desk-whisper")
    # The policyholder never gets it: not in the mailbox, not in the conversation at all.
    time.sleep(1)
    assert not [m for m in mailbox(assistant, sender, whispered_at) if WHISPER in m["text"]]
    assert not [text for text in bot_texts(assistant, sender) if "核赔结论" in text]
    assert agent.query_selector(f"#transcript >> text={WHISPER}") is None

    # The supervisor takes over: the policyholder is told who speaks now; the agent can no longer reply.
    taken_at = time.time()
    boss.click("#takeover")
    told = wait_for_message(assistant, sender, taken_at, "我是客服主管周主管")
    assert told["agent"] == "周主管"
    boss.wait_for_selector("#not-holder", state="hidden")
    agent.fill("#reply textarea", "您好，我再帮您看看")
    agent.click("#reply button[type=submit]")
    agent.wait_for_selector("#notice >> text=该会话由 周主管 处理")
    boss.fill("#reply textarea", "您好，您的理赔材料已齐全，明天会有核赔结论，我会亲自跟进。")
    boss.click("#reply button[type=submit]")
    assert wait_for_message(assistant, sender, taken_at, "我会亲自跟进")["agent"] == "周主管"
    assert not [m for m in mailbox(assistant, sender, taken_at) if "我再帮您看看" in m["text"]]
    for page in pages:
        page.context.close()


def test_a_ticket_created_at_the_desk_reaches_the_policyholder_as_the_bots_do(assistant, desk):
    li = DeskClient(desk.url).login(AgentService(desk.db).add("ticket-agent", "李娜", PASSWORD, Role.AGENT).username)
    sender = f"desk-e2e-ticket-{time.time_ns()}"
    request_id = queued(assistant, desk, sender, "你们的业务员当初说什么都能赔，现在住院了说不在保障范围，太坑人了")
    assert li.post(f"/api/handoffs/{request_id}/claim").status_code == 200
    created_at = time.time()
    ticket = li.post(
        f"/api/handoffs/{request_id}/ticket",
        json={
            "category": "sales",
            "complainant_name": "陈桂芳",
            "phone_number": "13912345678",
            "description": "业务员销售时承诺住院都能赔，理赔时被告知不在保障范围",
            "customer_request": "按当初承诺赔付住院费用",
        },
    ).json()
    assert "warning" not in ticket
    stored = TicketService(desk.db, desk.settings).get(ticket["ticket_no"])
    settings = Settings.from_env()
    expected = replies.desk_ticket_created(
        ticket["ticket_no"],
        date.fromisoformat(str(stored["deadline"])[:10]),
        settings.handling_days,
        settings.contact_promise,
        "139****5678",
    )
    # Queued with the ticket (the outbox), delivered by the notice sender, as the bot's own confirmation.
    send(assistant)
    assert notices_of(assistant, ticket["ticket_no"]) == [("acknowledgement", "sent", ["sent"])]
    confirmation = wait_for_message(assistant, sender, created_at, ticket["ticket_no"])
    assert confirmation["text"] == expected and confirmation["agent"] is None
    assert "13912345678" not in confirmation["text"] and "139****5678" in confirmation["text"]

    # Back with the bot, the policyholder asks for the number and gets it.
    handed_back_at = time.time()
    assert li.post(f"/api/handoffs/{request_id}/handback").status_code == 200
    wait_for_message(assistant, sender, handed_back_at, "智能助手继续为您服务")
    answer = " ".join(assistant.texts(sender, "那我的投诉编号是多少？"))
    assert ticket["ticket_no"] in answer, answer
    assert "请提供您的投诉编号" not in answer


def test_a_supervisor_reassigns_and_the_policyholder_is_told_who_speaks_now(assistant, desk):
    accounts = AgentService(desk.db)
    first = DeskClient(desk.url).login(accounts.add("reassign-from", "张伟", PASSWORD, Role.AGENT).username)
    second = DeskClient(desk.url).login(accounts.add("reassign-to", "刘洋", PASSWORD, Role.AGENT).username)
    boss = DeskClient(desk.url).login(accounts.add("reassign-boss", "孙主管", PASSWORD, Role.SUPERVISOR).username)
    sender = f"desk-e2e-reassign-{time.time_ns()}"
    request_id = queued(assistant, desk, sender, "退保的钱说好7个工作日到账，现在半个月了还没到")
    assert first.post(f"/api/handoffs/{request_id}/claim").status_code == 200
    moved_at = time.time()
    assert boss.post(f"/api/handoffs/{request_id}/reassign", json={"agent": "reassign-to"}).json() == {
        "ok": True,
        "holder": "刘洋",
    }
    assert "转交给客服刘洋" in wait_for_message(assistant, sender, moved_at, "刘洋")["text"]
    assert first.post(f"/api/handoffs/{request_id}/messages", json={"text": "您好"}).status_code == 403
    assert second.post(f"/api/handoffs/{request_id}/messages", json={"text": "您好，我是刘洋"}).status_code == 200
    wait_for_message(assistant, sender, moved_at, "我是刘洋")


def test_closing_a_conversation_with_a_threat_and_no_ticket_warns_first(assistant, desk):
    zhao = DeskClient(desk.url).login(AgentService(desk.db).add("close-agent", "赵敏", PASSWORD, Role.AGENT).username)
    sender = f"desk-e2e-close-{time.time_ns()}"
    request_id = queued(assistant, desk, sender, "拖了三个月不赔，我已经写好材料准备去金融监管总局投诉了")
    assert zhao.post(f"/api/handoffs/{request_id}/claim").status_code == 200
    warned = zhao.post(f"/api/handoffs/{request_id}/close", json={})
    assert warned.status_code == 409 and "还没有工单" in warned.json()["error"]
    assert HandoffService(desk.db, desk.settings).get(request_id)["status"] == "assigned"
    closed_at = time.time()
    assert zhao.post(f"/api/handoffs/{request_id}/close", json={"confirm_threat": True}).status_code == 200
    wait_for_message(assistant, sender, closed_at, "本次人工服务已结束")
