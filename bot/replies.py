"""Dynamic Chinese replies built from domain data (static ones live in domain.yml)."""

from __future__ import annotations

from datetime import date, tzinfo
from typing import Dict, List, Mapping, Optional, Sequence

from bot.privacy import mask_phone
from bot.tickets import CATEGORY_LABELS, OpenTickets, StatusAnswer

FIELD_LABELS = {
    "complaint_category": "投诉类别",
    "policy_number": "保单号",
    "complainant_name": "投诉人姓名",
    "phone_number": "联系电话",
    "complaint_description": "投诉事项",
    "customer_request": "您的诉求",
}
SKIPPED = "skipped"

# Words users type to name a field they want to correct.
FIELD_WORDS = {
    "complaint_category": ("类别", "类型", "分类"),
    "policy_number": ("保单",),
    "complainant_name": ("姓名", "名字", "称呼"),
    "phone_number": ("电话", "手机", "号码", "联系方式"),
    "complaint_description": ("事项", "经过", "描述", "情况", "内容"),
    "customer_request": ("诉求", "要求", "请求", "希望"),
}

FIELD_EXPLANATIONS = {
    "complaint_category": (
        "投诉类别帮助我们把问题交给对应的处理部门，例如销售、退保、理赔、核保、保全、柜面服务或其他。"
    ),
    "policy_number": (
        "保单号可以在纸质保单首页、电子保单或缴费通知中找到，通常是字母加数字。"
        "没有也没关系，可以跳过，我们可通过您的身份信息查询。"
    ),
    "complainant_name": "姓名用于登记投诉人身份，请填写投诉人本人的中文姓名（外籍人士可填写英文姓名）。",
    "phone_number": "手机号用于受理后联系您、告知处理结果，需要是以1开头的11位中国大陆手机号。",
    "complaint_description": "投诉事项请简单说明发生了什么，例如时间、涉及的业务和遇到的问题，几句话即可。",
    "customer_request": "诉求是您希望我们怎么处理，例如尽快赔付、退保、解释说明、道歉或书面答复。",
}


Button = Dict[str, str]

HUMAN_BUTTON: Button = {"title": "转人工客服", "payload": "/request_human"}
CONTINUE_BUTTON: Button = {"title": "继续填写", "payload": "/affirm"}
SUMMARY_BUTTONS: List[Button] = [
    {"title": "确认提交", "payload": "/affirm"},
    {"title": "修改", "payload": "/deny"},
    {"title": "取消投诉", "payload": "/cancel"},
]
CONSENT_BUTTONS: List[Button] = [
    {"title": "同意", "payload": "/affirm"},
    {"title": "不同意", "payload": "/deny"},
    HUMAN_BUTTON,
]
CATEGORY_UNCLEAR = "抱歉，没能确定投诉类别，请点选最接近的一项："
WHICH_FIELD = "请问需要修改哪一项？"
WITHDRAW_ANSWER = "请回复“确认撤回”或“不撤回”。"
# Told when an action refuses to write what it was given (possible only when the
# action server is called with a forged conversation, never through the forms).
WRITE_REFUSED = (
    "抱歉，收到的信息不完整或格式不正确，本次未能为您办理。"
    "请重新开始，或回复“转人工”、拨打保单上的客服电话获得帮助。"
)


def field_help(error: str, field: str, skippable: bool) -> str:
    """After repeated failures: what is wrong, what the field is for, and the ways on."""
    return (
        f"{error}\n{FIELD_EXPLANATIONS[field]}\n您可以继续填写"
        + ("、跳过此项" if skippable else "")
        + "，或转人工客服协助您。"
    )


def field_help_buttons(skippable: bool) -> List[Button]:
    skip = [{"title": "跳过此项", "payload": "/skip"}] if skippable else []
    return [CONTINUE_BUTTON, *skip, HUMAN_BUTTON]


def category_buttons() -> List[Button]:
    return [
        {"title": label, "payload": f'/inform{{"complaint_category":"{key}"}}'}
        for key, label in CATEGORY_LABELS.items()
    ]


def field_choice_buttons() -> List[Button]:
    """Which field to correct, one button per field of the summary."""
    return [
        {"title": label, "payload": f'/inform{{"complaint_field":"{field}"}}'} for field, label in FIELD_LABELS.items()
    ]


def field_value_for_display(field: str, value: Optional[str]) -> str:
    if value is None or value == SKIPPED:
        return "未提供"
    if field == "phone_number":
        return mask_phone(value)
    if field == "complaint_category":
        return CATEGORY_LABELS.get(value, value)
    return value


# The read-back must fit a phone screen with its buttons: long free texts are cut
# here only; the slots and the ticket keep the full text.
SUMMARY_TEXT_CHARS = 60
LONG_TEXT_FIELDS = ("complaint_description", "customer_request")


def shortened(text: str, limit: int = SUMMARY_TEXT_CHARS) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…（共{len(text)}字，已完整记录）"


def summary(slots: Mapping[str, Optional[str]]) -> str:
    """The read-back, phone-sized: the category first, long texts shortened."""
    lines = ["请核对您的投诉信息："]
    for field, label in FIELD_LABELS.items():  # complaint_category is the first field
        value = field_value_for_display(field, slots.get(field))
        lines.append(f"· {label}：{shortened(value) if field in LONG_TEXT_FIELDS else value}")
    lines.append("信息无误请回复“确认”，需要修改请回复“修改”，放弃投诉请回复“取消”。")
    return "\n".join(lines)


def ticket_created(ticket_no: str, deadline: date, handling_days: int, contact_promise: str) -> str:
    return (
        f"您的投诉已受理，投诉编号：{ticket_no}。\n"
        f"我们将在{deadline.year}年{deadline.month}月{deadline.day}日前"
        f"（{handling_days}个自然日内）给出处理结果；"
        f"情况复杂的，可能依规延长，届时会提前告知您。\n"
        f"{contact_promise}。您也可以随时发送投诉编号查询处理进度。"
    )


def ticket_spooled(reference: str) -> str:
    return (
        "非常抱歉，系统暂时无法生成投诉编号，但您的投诉内容已完整保存，不会丢失"
        f"（暂存号：{reference}）。\n系统恢复后将自动登记，并通过您留下的手机号告知投诉编号，"
        "无需重复提交。"
    )


NOTICE_READ_OUT_CHARS = 500


def _read_out(notice: str) -> str:
    return notice if len(notice) <= NOTICE_READ_OUT_CHARS else f"{notice[:NOTICE_READ_OUT_CHARS]}…"


def status_reply(answer: StatusAnswer, zone: Optional[tzinfo] = None) -> str:
    if answer.found:
        deadline = answer.deadline
        assert deadline is not None  # a found ticket's deadline column is NOT NULL
        text = (
            f"投诉编号 {answer.ticket_no} 当前状态：{answer.status_label}。"
            f"处理期限：{deadline.year}年{deadline.month}月{deadline.day}日"
        )
        if answer.extension_days:
            text += f"（因案情复杂，已延长{answer.extension_days}日）"
        text += "。"
        if answer.paused:
            text += "目前正在进行外部鉴定，鉴定期间不计入处理期限。"
        if answer.latest_notice:
            sent = answer.latest_notice_at.astimezone(zone) if answer.latest_notice_at and zone else None
            when = f"（{sent.month}月{sent.day}日）" if sent else ""
            text += f"\n我们最近一次给您的通知{when}：{_read_out(answer.latest_notice)}"
        return text
    what = "没有查询到与该投诉编号和手机号相符的记录"
    return _not_found(what, answer.locked, answer.attempts_left, answer.lock_minutes)


def _not_found(what: str, locked: bool, attempts_left: int, lock_minutes: int) -> str:
    if locked:
        # The same words whichever limit was reached and whether or not the ticket exists.
        return (
            f"{what}。核对失败次数过多，为保护信息安全，查询已暂停，"
            f"请{_duration(lock_minutes)}后再试；如需尽快办理，请回复“转人工”或拨打保单上的客服电话。"
        )
    return f"{what}，请核对后重试。还可尝试{attempts_left}次。"


def _duration(minutes: int) -> str:
    if minutes >= 60 and minutes % 60 == 0:
        return f"{minutes // 60}小时"
    return f"{max(minutes, 1)}分钟"


def already_closed(ticket_no: str) -> str:
    return f"投诉 {ticket_no} 已经结案，无需撤回。如对处理结果有异议，可以回复“转人工”。"


def withdrawn(ticket_no: str) -> str:
    return f"已为您撤回投诉 {ticket_no}，投诉处理程序自今日终止。" "如果之后还有问题，欢迎随时再来反映。"


def withdrawing_the_filed_ticket(ticket_no: str) -> str:
    return f"您要撤回的是本次对话中登记的投诉 {ticket_no}。如需撤回其他投诉，请发送那一件的投诉编号。"


def withdrawal_kept(ticket_no: Optional[str]) -> str:
    named = f"投诉 {ticket_no} " if ticket_no else "您的投诉"
    return f"好的，不撤回。{named}将继续按期处理，您可以随时发送投诉编号查询进度。"


def queued(position: int) -> str:
    if position <= 1:
        return "已为您转接人工客服，您是下一位，请稍候，客服接入后会直接在这里回复您。"
    return f"已为您转接人工客服，您前面还有{position - 1}位，请稍候，客服接入后会直接在这里回复您。"


def queue_update(position: int) -> str:
    """Told to a waiting user when their place in the queue improves."""
    if position <= 1:
        return "排队更新：您是下一位，客服马上为您接入，请稍候。"
    return f"排队更新：您前面还有{position - 1}位，请稍候。"


def agent_greeting(agent_name: str) -> str:
    return f"您好，我是客服{agent_name}，已为您接入人工服务，请问有什么可以帮您？"


HAND_BACK_FAREWELL = "人工客服已结束本次服务，智能助手继续为您服务。还有什么可以帮您？"
CLOSE_FAREWELL = "本次人工服务已结束，感谢您的耐心。如还有问题，可以随时在这里留言。"
REQUEUED_NOTICE = "客服暂时离开，已为您重新排队，请稍候。"


# -- no human available: leave a message (留言) for a callback ----------------

CALLBACK_FIELD_EXPLANATIONS = {
    "phone_number": "手机号用于工作人员回电联系您，需要是以1开头的11位中国大陆手机号。",
    "callback_message": "留言请简单说明您想咨询或反映的问题，几句话即可，方便工作人员回电时直接为您处理。",
    "callback_name": "称呼用于回电时确认是您本人，请填写您的姓名，例如“张三”。",
}
CALLBACK_REQUEST = "请回电"


def handoff_unavailable(outside_hours: bool, hours: str) -> str:
    if outside_hours:
        return f"您好，我们的人工服务时间为{hours}，现在不在服务时间内，暂时无法为您转接人工客服。"
    return "非常抱歉，目前人工客服坐席全忙或暂时离线，暂时无法为您转接。"


def callback_field_help(error: str, field: str) -> str:
    # Like the complaint form's, but no "转人工" way out: no human is available now.
    return f"{error}\n{CALLBACK_FIELD_EXPLANATIONS[field]}\n您可以继续填写，或回复“取消”放弃留言。"


CALLBACK_FIELD_HELP_BUTTONS: List[Button] = [CONTINUE_BUTTON, {"title": "取消留言", "payload": "/cancel"}]


def callback_created(ticket_no: str, phone: str, contact_promise: str) -> str:
    return (
        f"您的留言已受理，受理编号：{ticket_no}。\n"
        f"{contact_promise}（{mask_phone(phone)}），请留意来电。"
        "您也可以随时发送受理编号查询处理进度。"
    )


def callback_spooled(reference: str) -> str:
    return (
        "非常抱歉，系统暂时无法生成受理编号，但您的留言已完整保存，不会丢失"
        f"（暂存号：{reference}）。\n系统恢复后将自动登记，工作人员会按您留下的手机号回电，"
        "无需重复留言。"
    )


def callback_declined(hours: str, cancelled: bool = False) -> str:
    # No hotline number is invented here: the policy documents carry the insurer's own.
    return (
        "好的，已取消留言，您填写的信息不会被保存。" if cancelled else "好的，不留言了。"
    ) + f"您可以在人工服务时间（{hours}）再联系人工客服，也可以拨打保单上的客服电话。" "还有什么可以帮您的吗？"


def field_corrected(label: str) -> str:
    """Said before the read-back is shown again with a correction the user typed."""
    return f"好的，已为您修改{label.removeprefix('您的')}。"


def status_retry(answer: StatusAnswer) -> str:
    """A failed look-up with attempts left: what to send next, in the same conversation."""
    return f"{status_reply(answer)}\n如果是投诉编号输错了，直接发送正确的投诉编号即可。"


def ticket_recalled(ticket_no: str) -> str:
    return f"没关系，本次对话中为您登记的投诉编号是 {ticket_no}。"


# -- status without the ticket number: phone and complainant name (issue 17) ----------------

LOOKUP_BY_PERSON = "没关系，可以用登记投诉时留下的手机号和投诉人姓名，为您查找正在处理中的投诉。"
_NO_OPEN_TICKET = "没有查询到与该手机号和姓名相符、正在处理中的投诉"


def open_tickets_failure(result: OpenTickets) -> str:
    """The same words for a wrong phone, a wrong name and no open ticket."""
    return _not_found(_NO_OPEN_TICKET, result.locked, result.attempts_left, result.lock_minutes)


def open_tickets_retry(result: OpenTickets) -> str:
    return (
        f"{open_tickets_failure(result)}\n"
        "如果手机号或姓名输错了，重新提供即可；找到投诉编号的话，也可以直接发送编号。"
    )


def open_tickets_list(tickets: Sequence[StatusAnswer]) -> str:
    """Several open tickets: number, category, step and deadline each, to pick one."""
    lines = [f"查询到您有{len(tickets)}件正在处理中的投诉："]
    for index, ticket in enumerate(tickets, 1):
        deadline = ticket.deadline
        assert deadline is not None  # a found ticket's deadline column is NOT NULL
        lines.append(
            f"{index}. {ticket.ticket_no}｜{CATEGORY_LABELS.get(ticket.category or '', '其他')}｜"
            f"当前状态：{ticket.status_label}｜处理期限：{deadline.year}年{deadline.month}月{deadline.day}日"
        )
    lines.append("请点选要查看的投诉，或直接发送投诉编号。")
    return "\n".join(lines)


def open_ticket_buttons(tickets: Sequence[StatusAnswer]) -> List[Button]:
    """A pick is answered only for a number this list gave (actions/status.py checks it against the list)."""
    return [
        {
            "title": f"{ticket.ticket_no}（{CATEGORY_LABELS.get(ticket.category or '', '其他')}）",
            "payload": f'/check_ticket_status{{"ticket_id":"{ticket.ticket_no}"}}',
        }
        for ticket in tickets
    ]


TICKET_NUMBER_HELP = (
    "没关系。投诉编号在投诉受理成功时的回复里（TS开头，如 TS20261122000123）。"
    "如果找不到，请回复“转人工”，客服核实您的身份后为您查询；找到后直接发送投诉编号即可。"
)


# -- while waiting in the queue (issue 15) -------------------------------------

LEAVE_MESSAGE_HINT = "不想等的话，可以回复“留言”，留下手机号和问题，我们登记后由工作人员回电联系您。"


def queue_standing(position: int, minutes: Optional[int]) -> str:
    """The answer to anything a user writes while waiting for an agent."""
    place = "您是下一位" if position <= 1 else f"您前面还有{position - 1}位"
    wait = f"，预计还需等待约{minutes}分钟" if minutes else "，暂时无法估算等待时间"
    return f"您的消息已收到，客服接入后会看到。目前{place}{wait}。{LEAVE_MESSAGE_HINT}"


QUEUE_LEFT_FOR_MESSAGE = "好的，已为您取消排队，改为登记留言。"


def no_agent_left(outside_hours: bool, hours: str) -> str:
    """Told to every waiting user when no agent is left to take them."""
    why = f"人工服务时间（{hours}）已结束" if outside_hours else "目前已没有人工客服在线"
    return f"抱歉，{why}，暂时无法为您接入。{LEAVE_MESSAGE_HINT}您也可以继续等待，客服上线后会按顺序为您接入。"


# -- the desk speaking to the policyholder (issue 15) ---------------------------------


def desk_ticket_created(
    ticket_no: str, deadline: date, handling_days: int, contact_promise: str, phone_masked: str
) -> str:
    """The bot's confirmation for a ticket an agent created in the conversation, with the phone it was filed under."""
    return f"{ticket_created(ticket_no, deadline, handling_days, contact_promise)}\n登记的联系电话：{phone_masked}。"


def ticket_number_reminder(ticket_no: str) -> str:
    return f"您的投诉编号是：{ticket_no}。\n您可以随时发送这个编号查询处理进度。"


NO_TICKET_IN_CONVERSATION = (
    "本次对话中还没有为您登记投诉，所以暂时没有投诉编号。"
    "如果您以前提交过投诉，请回复“查询投诉进度”，我可以帮您查找。"
)


def supervisor_takeover(name: str) -> str:
    return f"您好，我是客服主管{name}，接下来由我为您继续服务。"


def agent_reassigned(name: str) -> str:
    return f"您好，您的会话已转交给客服{name}，接下来由{name}为您继续服务，之前的对话记录都在，无需重复说明。"


# -- satisfaction (跟进): the rating after a result notice or a live agent conversation ---------

# Until knowledge/notice_templates.yml holds the rating question (bot/notices.py), the desk's hand-back asks it
# in these words; the numbers are for WeChat and SMS links, where buttons arrive as plain text.
RATING_QUESTION = "请您对本次投诉处理进行评价：回复“1”满意，“2”基本满意，“3”不满意，或点选下面的按钮。"
RATING_LABELS = {"satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意"}


def rating_buttons() -> List[Button]:
    return [{"title": title, "payload": f'/rate{{"rating":"{value}"}}'} for value, title in RATING_LABELS.items()]


def rating_thanks(rating: str) -> str:
    if rating == "satisfied":
        return "感谢您的评价！您的认可是对我们最大的鼓励。还有什么可以帮您的吗？"
    return "感谢您的评价，我们会继续改进服务。还有什么可以帮您的吗？"


def rating_reopened(ticket_no: Optional[str], sent_back: bool) -> str:
    """不满意: sent back for re-handling, and the 核查 route (Art. 20 of 《银行业保险业消费投诉处理管理办法》)."""
    if ticket_no:
        case = (
            f"您的投诉 {ticket_no} 已退回重新处理"
            if sent_back
            else f"您的投诉 {ticket_no} 仍在处理中，您的意见已转交主管"
        )
    else:
        case = "您的意见已转交主管处理"
    return (
        f"已记录您的意见，{case}，主管会跟进，工作人员将再次与您联系。"
        "如您对我们的处理决定有异议，可以自收到处理决定之日起30日内，以书面形式向我司上级机构申请核查，"
        "上级机构将在30日内作出核查决定；您也可以申请调解，或拨打12378银行保险消费者投诉维权热线。"
    )


RATING_REPEATED = "您已对这次处理作出过评价，每次处理只记录一次评价，感谢您的反馈。如需其他帮助，请直接告诉我。"
RATING_NOT_ASKED = (
    "感谢您的反馈！目前没有需要您评价的处理结果。"
    "如需投诉，请回复“我要投诉”；对已有投诉的处理有意见，可以回复“查询投诉进度”或“转人工”。"
)
RATING_UNCLEAR = "请回复“1”满意，“2”基本满意，“3”不满意，或点选下面的按钮。"

# The chat page opened from an SMS notice's link (bot/notice_links.py); shown to that page only.
_LINK_ELSE = "如需查询投诉进度，请在下方输入“查询投诉进度”，验证手机号后即可查看；也可以直接告诉我您需要什么帮助。"
NOTICE_LINK_REFUSED = {
    "malformed": "该链接不完整或无效，无法显示通知内容。请检查短信中的链接是否完整复制。" + _LINK_ELSE,
    "forged": "该链接无效，无法显示通知内容。" + _LINK_ELSE,
    "expired": "该链接已过期，无法再显示通知内容。" + _LINK_ELSE,
    "unknown": "该链接对应的通知已不存在，无法显示。" + _LINK_ELSE,
    "overused": "该链接已在多个设备或浏览器中打开过，为保护您的信息，无法在此再次显示。" + _LINK_ELSE,
}
NOTICE_LINK_UNAVAILABLE = "暂时无法打开该通知，请稍后刷新页面重试。"
