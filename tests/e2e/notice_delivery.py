"""A result notice as the chat route delivers it (the conversation contract of issue 16): a ticket at 跟进
with its sent notice, and the events appended to the conversation through Rasa's HTTP API."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import datetime, timezone
from typing import Any, Dict, List, Tuple

from sqlalchemy import select, update

from bot.desk.rasa_client import RasaConversations
from bot.models import Notice, Ticket
from bot.notice_routes import chat as chat_route
from bot.notice_routes.route import OutgoingNotice
from bot.tickets import TicketService
from tests.assistant import TOKEN, Assistant
from tests.bot.complaints import draft

RESULT = "经核实，您的理赔材料已于5月10日齐全。处理结果：同意全额赔付。依据：保险合同第五条。"


def new_sender() -> str:
    return f"e2e-rating-{uuid.uuid4().hex[:10]}"


def joined(texts: List[str]) -> str:
    return "\n".join(texts)


def ticket_with_result(assistant: Assistant, sender: str, channel: str = "rest") -> Tuple[str, str]:
    """A ticket of this conversation at 跟进 whose result notice was sent; its number and the notice's key."""
    tickets = TicketService(assistant.db, assistant.settings)
    ticket_no = tickets.submit(draft(conversation_id=sender, channel=channel), f"{sender}:1").ticket_no
    key = f"result:{ticket_no}:5"
    now = datetime.now(timezone.utc)
    with assistant.db.transaction() as session:
        session.execute(update(Ticket).where(Ticket.ticket_no == ticket_no).values(status="follow_up"))
        ticket_id = session.execute(select(Ticket.id).where(Ticket.ticket_no == ticket_no)).scalar_one()
        session.add(
            Notice(
                ticket_id=ticket_id,
                kind="result",
                idempotency_key=key,
                body=RESULT,
                asks_rating=True,
                status="sent",
                created_at=now,
                sent_at=now,
                sent_via="chat",
            )
        )
    return ticket_no, key


def notice_events(key: str) -> List[Dict[str, Any]]:
    """What the chat route appends when it delivers a notice that asks for a rating."""
    notice = OutgoingNotice(key, "result", "", "", "rest", RESULT, asks_rating=True)
    return chat_route.notice_events(notice)


def append(assistant: Assistant, sender: str, events: List[Dict[str, Any]]) -> None:
    settings = dataclasses.replace(assistant.settings, rasa_url=assistant.url, rasa_token=TOKEN)
    asyncio.run(RasaConversations(settings).append(sender, events))


def ticket(assistant: Assistant, ticket_no: str) -> Dict[str, Any]:
    return TicketService(assistant.db, assistant.settings).get(ticket_no)
