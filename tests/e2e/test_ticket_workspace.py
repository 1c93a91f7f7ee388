"""The ticket workspace in a real browser: a complaint filed in the chat page is worked to 结案 in the desk.

Real parts only: the trained Rasa server with the web channel, the action server,
the desk process, one SQLite database, Debian's Chromium.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from playwright.sync_api import Browser, Page, expect

from bot.agents import AgentService, Role
from bot.alerts import Alerts
from bot.channels.web import SENDER_PREFIX
from bot.handoff import HandoffReason, HandoffService
from bot.materials import load as load_materials
from bot.reminders import ReminderPass
from bot.tickets import TicketService
from tests.assistant import Assistant
from tests.bot.desk.client import PASSWORD
from tests.bot.desk.server import DeskServer
from tests.bot.sample_tickets import SUPERVISOR, submit
from tests.e2e.browser import DESKTOP, PHONE, save_screenshot
from tests.e2e.chat_page import click, open_chat, say, session_of
from tests.e2e.outbox import notices_of, send

XSS = "<img src=x onerror=\"document.title='pwned'\">"
STEPS = [
    # (status shown after the step, what the handler fills in its form)
    ("调查", {}),
    ("处理", {"textarea[name=findings]": "已调取理赔记录：材料11月3日收齐，审核积压未处理。"}),
    (
        "反馈",
        {
            "textarea[name=decision]": "三个工作日内完成赔付，并致歉",
            "textarea[name=decision_basis]": "保险合同第十二条；理赔时效规定",
            "select[name=outcome]": "upheld",
        },
    ),
    ("跟进", {"textarea[name=result_notice]": "您好，经核实您的投诉成立，我们将于三个工作日内赔付。"}),
    (
        "结案",
        {
            "input[name=follow_up_reached][value=true]": True,
            "input[name=follow_up_satisfied][value=true]": True,
            "textarea[name=follow_up_note]": "电话回访，客户已收到赔款，表示满意",
            "input[name=root_cause_controllable][value=true]": True,
            "select[name=root_cause_category]": "service_timeliness",
            "textarea[name=improvement_action]": "理赔审核设置超时提醒",
        },
    ),
]


def log_in(browser: Browser, desk: DeskServer, username: str, role: Role, name: str) -> Page:
    AgentService(desk.db).add(username, name, PASSWORD, role)
    page = browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    page.set_default_timeout(20_000)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{desk.url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{desk.url}/")
    return page


def file_complaint(assistant: Assistant, browser: Browser) -> str:
    """The policyholder's complaint, from the greeting to the ticket number; returns the ticket number."""
    chat = open_chat(browser, f"{assistant.url}/webhooks/web/", DESKTOP)
    say(chat, "你好")
    click(chat, "我要投诉")
    replies = click(chat, "理赔纠纷")
    answers = {
        "保单号": "PL202300765432",
        "姓名": "赵六",
        "手机号": "13912348765",
        "发生了什么": "理赔申请交了一个多月还没有结果",
        "怎么处理": "希望尽快赔付",
    }
    for _ in range(8):
        if "请核对" in replies[-1]:
            break
        replies = say(chat, next(value for key, value in answers.items() if key in replies[-1]))
    done = "\n".join(say(chat, "确认"))
    conversation_id = SENDER_PREFIX + session_of(chat)
    [ticket] = [
        t for t in TicketService(assistant.db, assistant.settings).list() if t["conversation_id"] == conversation_id
    ]
    assert ticket["ticket_no"] in done
    chat.context.close()
    return ticket["ticket_no"]


def fill(page: Page, form: str, values: dict) -> None:
    for selector, value in values.items():
        target = f"{form} {selector}"
        if value is True:
            page.check(target)
        elif selector.startswith("select"):
            page.select_option(target, value)
        else:
            page.fill(target, value)


def test_a_complaint_from_the_chat_page_is_claimed_and_worked_to_closure(assistant, desk, chromium):  # noqa: F811
    ticket_no = file_complaint(assistant, chromium)
    page = log_in(chromium, desk, "zhao", Role.AGENT, "赵客服")

    # The new complaint is in /tickets; the session's other tests fill the first page, so it is found
    # by the last four digits of the phone, unassigned and masked.
    page.click("nav >> text=工单")
    page.wait_for_url(f"{desk.url}/tickets")
    expect(page.locator("#status-counts")).to_contain_text("受理")
    page.fill("input[name=search]", "8765")
    page.click("#filters button[type=submit]")
    expect(page.locator("#ticket-rows tr")).to_have_count(1)
    row = page.locator(f"tr[data-ticket-no='{ticket_no}']")
    expect(row).to_contain_text("赵六")
    expect(row).to_contain_text("未分派")
    expect(row).to_contain_text("139****8765")
    save_screenshot(page, "tickets-list")

    # The agent opens it, reads the conversation it came from, and claims it.
    row.locator("a").click()
    page.wait_for_url(f"{desk.url}/tickets/{ticket_no}")
    expect(page.locator("#transcript")).to_contain_text("理赔申请交了一个多月还没有结果")
    expect(page.locator("#head-owner")).to_have_text("负责人：未分派")
    page.click("#claim")
    expect(page.locator("#head-owner")).to_have_text("负责人：赵客服")  # the display name
    save_screenshot(page, "ticket-claimed", full_page=True)

    # 受理 → 调查 → 处理 → 反馈 → 跟进 → 结案, each with the content its step requires.
    ask = page.locator("#follow-up-question")
    for shown, values in STEPS:
        form = "form.step:not([hidden])"
        if shown == "结案":  # in 跟进: the follow-up question, confirmed (log_in accepts), then not again meanwhile
            ask.click()
            expect(page.locator("#notices > li[data-kind=follow_up]")).to_contain_text("回访：待发送")
            expect(ask).to_be_hidden()
            expect(page.locator("#follow-up-info")).to_have_text("回访问题已在发送中")
        else:
            expect(ask).to_be_hidden()
        fill(page, form, values)
        page.click(f"{form} button[type=submit]")
        expect(page.locator("#head-status")).to_have_text(shown)
    expect(page.locator("#content")).to_contain_text("理赔审核设置超时提醒")
    expect(page.locator("#content")).to_contain_text("服务时效")
    expect(page.locator("#transcript")).to_contain_text("理赔纠纷")
    expect(page.locator("#step-done")).to_be_visible()
    expect(page.locator("#audit")).to_contain_text("赵客服 状态：跟进 → 结案")
    save_screenshot(page, "ticket-closed", full_page=True)
    # Leaving 反馈 queued the result notice, the button the follow-up; the sender delivers them into the chat,
    # and the page shows how.
    send(assistant)
    assert notices_of(assistant, ticket_no) == [("result", "sent", ["sent"]), ("follow_up", "sent", ["sent"])]
    page.reload()
    notice = page.locator("#notices > li[data-kind=result]")
    expect(notice).to_contain_text("处理结果告知：已送达（对话消息")
    expect(notice.locator("ol.attempts > li")).to_have_count(1)
    expect(notice.locator("ol.attempts > li")).to_contain_text("对话消息 已送达")
    expect(page.locator("#sms-off")).to_contain_text("未配置短信服务")  # this desk has no SMS keys
    save_screenshot(page, "ticket-notices", full_page=True)
    stored = TicketService(desk.db, desk.settings).get(ticket_no)
    assert stored["status"] == "closed" and stored["assignee"] == "zhao"
    assert stored["root_cause_category"] == "service_timeliness"
    page.context.close()


def test_a_supervisor_extends_a_ticket_and_sees_the_overdue_alert(desk, chromium):  # noqa: F811
    # Received 50 days ago: overdue even as a complex case with an extension.
    received = datetime.now(timezone.utc) - timedelta(days=50)
    ticket_no = submit(
        desk.db, desk.settings, received, {"assignee": "qian"}, complainant_name="钱七", description=XSS + "理赔慢"
    )
    page = log_in(chromium, desk, "boss", Role.SUPERVISOR, "孙主管")
    page.goto(f"{desk.url}/tickets?deadline_state=overdue")
    expect(page.locator(f"tr[data-ticket-no='{ticket_no}']")).to_have_class("due-overdue")

    page.goto(f"{desk.url}/tickets/{ticket_no}")
    # What the policyholder typed is shown as text, never as markup.
    expect(page.locator("#fields")).to_contain_text(XSS + "理赔慢")
    assert page.locator("#fields img").count() == 0 and page.title() != "pwned"
    before = page.locator("#head-deadline").inner_text()
    page.fill("#complex input[name=reason]", "涉及多家医院的病历核实")
    page.click("#complex button[type=submit]")
    expect(page.locator("#deadline-info")).to_contain_text("复杂案件")
    page.fill("#extension input[name=days]", "10")
    page.fill("#extension input[name=reason]", "需等待第三方医院出具病历")
    page.click("#extension button[type=submit]")
    expect(page.locator("#deadline-info")).to_contain_text("已延长10天")
    assert page.locator("#head-deadline").inner_text() != before
    save_screenshot(page, "ticket-extended", full_page=True)

    # The person complained about is chosen, shown and audited by name (the username stays underneath).
    AgentService(desk.db).add("zhou", "周小红", PASSWORD, Role.AGENT)
    page.reload()
    expect(page.locator("#fields")).to_contain_text("钱七")  # the page has rendered the ticket into its forms
    page.select_option("#subject-staff select[name=subject_staff]", label="周小红")
    page.fill("#note textarea[name=body]", "先记一笔")  # another form sent before saving keeps the choice
    page.click("#note button[type=submit]")
    expect(page.locator("#notes")).to_contain_text("先记一笔")
    expect(page.locator("#subject-staff select")).to_have_value("zhou")
    page.click("#subject-staff button[type=submit]")
    expect(page.locator("#fields")).to_contain_text("被投诉人员周小红")
    expect(page.locator("#subject-staff select")).to_have_value("zhou")  # the saved choice stays shown
    expect(page.locator("#audit")).to_contain_text("被投诉人员：— → 周小红")
    assert TicketService(desk.db, desk.settings).get(ticket_no)["subject_staff"] == "zhou"

    # The reminder job raises the overdue alert; the badge shows it live, /alerts lists it.
    run_reminders(desk)
    expect(page.locator("#alert-badge")).to_be_visible(timeout=15_000)
    page.click("#alerts-link")
    page.wait_for_url(f"{desk.url}/alerts")
    alert = page.locator("#alert-rows tr", has_text=ticket_no)
    expect(alert).to_contain_text("已超期")
    expect(alert).to_contain_text("已升级至主管")
    save_screenshot(page, "alerts")
    alert.locator("button").click()
    expect(page.locator("#alert-rows tr", has_text=ticket_no)).to_have_count(0)
    page.context.close()


def run_reminders(desk: DeskServer) -> None:
    ReminderPass(desk.db, desk.settings).run_once()


def test_canned_replies_are_inserted_edited_and_sent(assistant, desk, chromium):  # noqa: F811
    sender = f"canned-e2e-{time.time_ns()}"
    assistant.texts(sender, "你好")
    request_id = HandoffService(desk.db, desk.settings).request(sender, "rest", HandoffReason.USER_REQUEST, {}).id
    page = log_in(chromium, desk, "sun", Role.AGENT, "孙客服")
    page.locator(f"li.card[data-id='{request_id}'] button.claim").click()
    page.wait_for_url(f"**/conversations/{request_id}")
    script = load_materials(desk.settings.materials_file)
    page.select_option("#canned", "materials:medical")
    box = page.locator("#reply textarea")
    expect(box).to_have_value(script.render("medical"))
    # Editable before sending: the agent adds a line of its own.
    box.press("Control+End")
    box.type("\n如有疑问请随时联系我。")
    save_screenshot(page, "conversation-canned-reply")
    page.click("#reply button[type=submit]")
    page.wait_for_selector("li.line.agent >> text=如有疑问请随时联系我。")
    sent = [e for e in assistant.tracker(sender)["events"] if e["event"] == "bot"][-1]["text"]
    assert sent == script.render("medical") + "\n如有疑问请随时联系我。"
    page.context.close()


def test_the_result_reaches_the_chat_page_and_an_unhappy_rating_sends_the_ticket_back(assistant, desk, chromium):  # noqa: F811
    ticket_no = file_complaint(assistant, chromium)
    session_id = TicketService(assistant.db, assistant.settings).get(ticket_no)["conversation_id"][len(SENDER_PREFIX) :]
    page = log_in(chromium, desk, "qian-notice", Role.AGENT, "钱客服")
    page.goto(f"{desk.url}/tickets/{ticket_no}")
    page.click("#claim")
    for shown, values in STEPS[:4]:  # 调查, 处理, 反馈, then 跟进: the result notice is queued
        form = "form.step:not([hidden])"
        fill(page, form, values)
        page.click(f"{form} button[type=submit]")
        expect(page.locator("#head-status")).to_have_text(shown)
    page.context.close()
    send(assistant)
    assert notices_of(assistant, ticket_no) == [("result", "sent", ["sent"])]

    # The complainant opens the chat page again: the result with the Art. 19 elements, then the rating question.
    chat = open_chat(chromium, f"{assistant.url}/webhooks/web/", PHONE, session_id)
    result = chat.locator(".message.from-bot .bubble", has_text="核实情况")
    expect(result).to_have_count(1)
    for element in ("已调取理赔记录", "三个工作日内完成赔付", "保险合同第十二条", "12378"):
        expect(result).to_contain_text(element)
    expect(chat.locator(".quick-replies:not([hidden]) button")).to_have_text(["满意", "基本满意", "不满意"])
    save_screenshot(chat, "result-notice-rating-phone")
    asked = click(chat, "不满意")
    assert "原因" in asked[-1]
    answer = "\n".join(say(chat, "赔款到现在都没到账，也没人打电话说明"))
    assert "重新处理" in answer and "核查" in answer and "12378" in answer
    save_screenshot(chat, "result-notice-dissatisfied-phone")
    chat.context.close()

    stored = TicketService(assistant.db, assistant.settings).get(ticket_no)
    assert stored["status"] == "processing" and stored["satisfaction"] == "dissatisfied"
    boss = log_in(chromium, desk, "sun-notice", Role.SUPERVISOR, "孙主管")
    boss.goto(f"{desk.url}/tickets/{ticket_no}")
    expect(boss.locator("#head-status")).to_have_text("处理")
    alerts = Alerts(desk.db).list(SUPERVISOR, unacknowledged_only=True)
    assert any(alert["kind"] == "dissatisfied" and alert["ticket_no"] == ticket_no for alert in alerts)
    boss.context.close()
