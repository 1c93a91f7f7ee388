"""Scripted policyholders: what each simulated user says, turn by turn.

A script is a generator: it yields the next message and receives the bot's
answer (the list of texts) in return. It reads the answer the way a person
would (which question was asked) and raises `Deviation` when the bot says
something the trained model does not say on that path, so a broken turn is
counted instead of silently carried on. The phrases are ones the model
handles (tests/e2e/test_conversations.py).

`Conversation` carries what the harness needs afterwards: the ticket step
(the message that files a ticket) and the number the bot quoted.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, Generator, List, Optional, Tuple

TICKET_NO = re.compile(r"TS\d{14}")

Script = Generator[str, List[str], None]


class Deviation(Exception):
    """The bot answered something this path never answers."""


@dataclass
class Conversation:
    sender: str
    script: str
    rng: random.Random
    phone: str = ""
    files_ticket: bool = False  # this script asks for a ticket
    ticket_step_next: bool = False  # the next message files the ticket
    ticket_step_sent: bool = False
    ticket_step_answered: bool = False
    ticket_no: Optional[str] = None
    turns: int = 0
    deviation: Optional[str] = None

    def ticket_step(self) -> None:
        """Marks that the message about to be yielded files the ticket."""
        self.ticket_step_next = True


@dataclass
class TicketPool:
    """Tickets filed in this run, for the status checks of later users."""

    tickets: List[Tuple[str, str]] = field(default_factory=list)  # (ticket number, phone)

    def add(self, ticket_no: str, phone: str) -> None:
        self.tickets.append((ticket_no, phone))

    def pick(self, rng: random.Random) -> Optional[Tuple[str, str]]:
        return rng.choice(self.tickets) if self.tickets else None


# Assigned mobile prefixes (154 and 194, for instance, are not: the bot rightly rejects them).
MOBILE_PREFIXES = ("135", "136", "137", "138", "139", "150", "151", "158", "159", "186", "187", "188", "189")


def phone_number(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(8))


def joined(texts: List[str]) -> str:
    return "\n".join(texts)


def expect(texts: List[str], *words: str) -> None:
    text = joined(texts)
    if not any(word in text for word in words):
        raise Deviation(f"expected one of {words!r}, got {text[:120]!r}")


# -- the complaint assistant ------------------------------------------------

NAMES = ["张三", "李秀英", "王建国", "刘洋", "陈静"]
COMPLAINTS = [
    ("我要投诉，理赔申请交上去两个月了一直没有结果，太过分了！！", "希望尽快赔付"),
    ("我要投诉，退保的时候业务员说能全额退，结果只退了一半", "要求按当初的说法退保"),
    ("我要投诉柜面服务，工作人员态度很差，让我来回跑了三趟", "要求道歉"),
]


def _answer(question: str, conversation: Conversation, description: str, request: str) -> str:
    """The answer a policyholder gives to one question of the complaint form."""
    if "类" in question:
        return "理赔"
    if "保单号" in question:
        return conversation.rng.choice(["PL202300123456", "跳过"])
    if "姓名" in question:
        return conversation.rng.choice(NAMES)
    if "手机号" in question:
        # Written the way people type it, with separators.
        phone = conversation.phone
        return f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
    if "发生了什么" in question:
        return description
    if "怎么处理" in question or "诉求" in question:
        return request
    raise Deviation(f"unexpected question {question[:80]!r}")


def complaint(conversation: Conversation, tickets: TicketPool) -> Script:
    """Greets, complains, answers the form (with a side question), confirms."""
    conversation.files_ticket = True
    description, request = conversation.rng.choice(COMPLAINTS)
    expect((yield "你好"), "投诉")
    replies = yield description
    expect(replies, "保单号", "哪一类", "理解")
    side_question_asked = False
    for _ in range(10):
        question = replies[-1] if replies else ""
        if "请核对" in question:
            break
        if not side_question_asked and "姓名" in question:
            # Policyholders ask about materials halfway through; the form resumes.
            side_question_asked = True
            replies = yield "重疾险理赔需要准备什么材料"
            expect(replies, "理赔申请书")
            continue
        replies = yield _answer(question, conversation, description, request)
    else:
        raise Deviation("the form never read the summary back")
    expect(replies, "****")  # the phone is masked in the summary
    conversation.ticket_step()
    done = yield "确认"
    found = TICKET_NO.search(joined(done))
    if found is None:
        raise Deviation(f"no ticket number in {joined(done)[:120]!r}")
    conversation.ticket_no = found.group(0)
    tickets.add(conversation.ticket_no, conversation.phone)


def materials(conversation: Conversation, tickets: TicketPool) -> Script:
    """Asks which materials a claim needs, then why one document is needed."""
    expect((yield "你好"), "投诉")
    expect((yield "理赔要什么材料"), "哪一类理赔", "理赔申请书")
    expect((yield conversation.rng.choice(["重疾险", "住院医疗"])), "理赔申请书")
    expect((yield "为什么要身份证"), "防止冒领")
    expect((yield "谢谢"), "不客气", "还有")
    expect((yield "再见"), "再见")


def status_check(conversation: Conversation, tickets: TicketPool) -> Script:
    """Looks up a ticket filed earlier in the run, with its phone number."""
    picked = tickets.pick(conversation.rng)
    if picked is None:
        raise Deviation("no ticket filed yet to check")
    ticket_no, phone = picked
    expect((yield f"帮我查一下投诉进度 {ticket_no}"), "手机号")
    answer = yield phone
    expect(answer, ticket_no)
    expect(answer, "受理", "调查", "处理", "反馈", "跟进", "结案")
    expect((yield "谢谢"), "不客气", "还有")


def handoff(conversation: Conversation, tickets: TicketPool) -> Script:
    """Asks for a human; nobody is at the desk, so leaves a message (留言)
    that becomes a callback ticket."""
    conversation.files_ticket = True
    expect((yield "转人工"), "留言")
    expect((yield "好的"), "手机号")
    expect((yield conversation.phone), "问题")
    expect((yield "理赔款一直没到账，想请工作人员回电说明一下"), "称呼")
    conversation.ticket_step()
    done = yield conversation.rng.choice(NAMES)
    found = TICKET_NO.search(joined(done))
    if found is None:
        raise Deviation(f"no ticket number in {joined(done)[:120]!r}")
    conversation.ticket_no = found.group(0)


# The mix of a day's traffic: complaints, material questions, status checks, handoffs.
COMPLAINT_MIX: List[Tuple[str, Callable[[Conversation, TicketPool], Script]]] = [
    ("complaint", complaint),
    ("materials", materials),
    ("status", status_check),
    ("handoff", handoff),
]


# -- Rasa's starter bot (`rasa init`) -----------------------------------------


def starter_mood(conversation: Conversation, tickets: TicketPool) -> Script:
    """The starter bot's happy/sad paths, padded to a similar number of turns."""
    expect((yield "hello"), "How are you")
    if conversation.rng.random() < 0.5:
        expect((yield "I am very sad"), "Did that help you")
        expect((yield conversation.rng.choice(["yes", "no"])), "carry on", "Bye")
    else:
        expect((yield "I am great"), "carry on")
    expect((yield "are you a bot?"), "I am a bot")
    expect((yield "hi there"), "How are you")
    expect((yield "perfect"), "carry on")
    expect((yield "goodbye"), "Bye")


STARTER_MIX: List[Tuple[str, Callable[[Conversation, TicketPool], Script]]] = [
    ("mood", starter_mood),
]

# -- one long conversation: does a turn get slower as the conversation grows? --


def long_questions(conversation: Conversation, tickets: TicketPool) -> Script:
    """Material questions again and again in one conversation (no state to reset)."""
    while True:
        expect((yield "理赔要什么材料"), "哪一类理赔", "理赔申请书")
        expect((yield "重疾险"), "理赔申请书")
        expect((yield "为什么要身份证"), "防止冒领")
        expect((yield "谢谢"), "不客气", "还有")


def long_starter(conversation: Conversation, tickets: TicketPool) -> Script:
    while True:
        expect((yield "hello"), "How are you")
        expect((yield "I am great"), "carry on")
        expect((yield "are you a bot?"), "I am a bot")
        expect((yield "goodbye"), "Bye")


LONG: Dict[str, Callable[[Conversation, TicketPool], Script]] = {
    "complaints": long_questions,
    "starter": long_starter,
}

MIXES: Dict[str, List[Tuple[str, Callable[[Conversation, TicketPool], Script]]]] = {
    "complaints": COMPLAINT_MIX,
    "starter": STARTER_MIX,
}

# Messages for the NLU-only floor (POST /model/parse).
PARSE_TEXTS: Dict[str, List[str]] = {
    "complaints": [
        "你好",
        "我要投诉，理赔申请交上去两个月了一直没有结果",
        "理赔",
        "PL202300123456",
        "张三",
        "138-1234-5678",
        "希望尽快赔付",
        "确认",
        "重疾险理赔需要准备什么材料",
        "帮我查一下投诉进度 TS20261122000001",
        "转人工",
        "谢谢",
    ],
    "starter": [
        "hello",
        "I am very sad",
        "yes",
        "no",
        "I am great",
        "are you a bot?",
        "perfect",
        "goodbye",
        "hi there",
        "not really",
    ],
}
