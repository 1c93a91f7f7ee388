"""The notice sender's pass against the test assistant, run when a test decides (as a stopped or crashed
sender would leave the outbox until then)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timezone
from typing import List, Tuple

from sqlalchemy import select

from bot.models import Notice, NoticeAttempt, Ticket
from bot.notice_routes.route import Route
from bot.notice_sender import NoticeSender, SendReport, routes
from tests.assistant import TOKEN, Assistant
from tests.bot.sample_tickets import submit


def send(assistant: Assistant, **instead: Route) -> SendReport:
    """One pass (in a thread of its own: Playwright's sync API holds this thread's event loop); `instead`
    replaces routes by name (e.g. WeChat's, whose servers cannot be reached from here)."""
    settings = replace(assistant.settings, rasa_url=assistant.url, rasa_token=TOKEN)
    sender = NoticeSender(assistant.db, settings, {**routes(settings, assistant.db), **instead})
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, sender.run_once_and_close()).result(timeout=120)


def notices_of(assistant: Assistant, ticket_no: str) -> List[Tuple[str, str, List[str]]]:
    """A ticket's notices: kind, status and the outcome of each delivery attempt (the session's other tests
    queue notices of their own, so a test looks at its ticket's)."""
    with assistant.db.transaction() as session:
        rows = session.execute(
            select(Notice).join(Ticket, Ticket.id == Notice.ticket_id).where(Ticket.ticket_no == ticket_no)
        ).scalars()
        found = []
        for notice in rows:
            outcomes = session.execute(
                select(NoticeAttempt.outcome).where(NoticeAttempt.notice_id == notice.id).order_by(NoticeAttempt.id)
            ).scalars()
            found.append((notice.kind, notice.status, list(outcomes)))
        return found


RESULT_FIELDS = {
    "findings": "经调取理赔档案，您的材料已于5月10日齐全，审核超时属实",
    "decision": "全额赔付住院医疗保险金12,000元",
    "decision_basis": "保险合同第五条",
    "outcome": "upheld",
    "result_notice": "赔款将于3个工作日内转入您的收款账户",
}


def worked_to_feedback(assistant: Assistant, conversation_id: str, channel: str) -> str:
    """A ticket of the conversation with its investigation and decision recorded, in 反馈."""
    case = {"assignee": "li", "status": "feedback", **RESULT_FIELDS}
    return submit(
        assistant.db,
        assistant.settings,
        datetime.now(timezone.utc),
        case,
        conversation_id=conversation_id,
        channel=channel,
    )
