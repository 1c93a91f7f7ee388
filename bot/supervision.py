"""A supervisor's hand on a live conversation: whispers to the holding agent, taking over, reassigning."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.agents import HANDLER_ROLES, AgentAccount
from bot.clock import Clock, utc_now
from bot.db import Database
from bot.handoff import ClaimError
from bot.models import Agent, HandoffRequest, Whisper

MAX_WHISPER = 2000
SUPERVISORS_ONLY = "只有主管可以这样操作"


@dataclass(frozen=True)
class Handover:
    """Who held the conversation before and who holds it now, by display name."""

    conversation_id: str
    previous: str
    current: str


def _live(session: Session, request_id: int) -> HandoffRequest:
    row = session.get(HandoffRequest, request_id)
    if row is None:
        raise ClaimError("该会话不存在")
    if row.status != "assigned":
        raise ClaimError("该会话未被接入或已结束")
    return row


def _supervisor(agent: AgentAccount) -> None:
    if not agent.is_supervisor:
        raise ClaimError(SUPERVISORS_ONLY)


def display_names(session: Session) -> Dict[str, str]:
    """Every account's display name by username, deactivated ones included (they still sign old records)."""
    return {row.username: row.display_name for row in session.execute(select(Agent)).scalars()}


class Supervision:
    def __init__(self, db: Database, clock: Clock = utc_now) -> None:
        self.db = db
        self.clock = clock

    def names(self) -> Dict[str, str]:
        with self.db.transaction() as session:
            return display_names(session)

    def whisper(self, request_id: int, supervisor: AgentAccount, body: str) -> Dict[str, Any]:
        """An internal message for the holding agent; it never goes to Rasa, so never to the policyholder."""
        _supervisor(supervisor)
        with self.db.transaction() as session:
            row = _live(session, request_id)
            if row.assigned_to == supervisor.username:
                raise ClaimError("您正在亲自处理该会话，无需内部消息")
            whisper = Whisper(
                handoff_id=row.id,
                author=supervisor.username,
                author_name=supervisor.display_name,
                body=body,
                at=self.clock(),
            )
            session.add(whisper)
            session.flush()
            return whisper.as_dict()

    def whispers(self, request_id: int, reader: AgentAccount) -> List[Dict[str, Any]]:
        """The whispers of a live conversation, for its holder and supervisors only."""
        with self.db.transaction() as session:
            row = _live(session, request_id)
            if row.assigned_to != reader.username and not reader.is_supervisor:
                raise ClaimError("该会话不由您处理")
            query = select(Whisper).where(Whisper.handoff_id == row.id).order_by(Whisper.id)
            return [whisper.as_dict() for whisper in session.execute(query).scalars()]

    def take_over(self, request_id: int, supervisor: AgentAccount) -> Handover:
        """The supervisor holds the conversation from now on; the agent who held it no longer may reply."""
        _supervisor(supervisor)
        with self.db.transaction() as session:
            row = _live(session, request_id)
            if row.assigned_to == supervisor.username:
                raise ClaimError("您已在处理该会话")
            return self._move(session, row, supervisor.username, supervisor.display_name)

    def reassign(self, request_id: int, supervisor: AgentAccount, username: str) -> Handover:
        """Another active agent holds the live conversation, with its history; the previous holder loses it."""
        _supervisor(supervisor)
        with self.db.transaction() as session:
            row = _live(session, request_id)
            target = session.execute(
                select(Agent).where(Agent.username == username, Agent.active, Agent.role.in_(HANDLER_ROLES))
            ).scalar_one_or_none()
            if target is None:
                raise ClaimError("没有这个在职坐席")
            if row.assigned_to == target.username:
                raise ClaimError(f"该会话已由 {target.display_name} 处理")
            return self._move(session, row, target.username, target.display_name)

    def _move(self, session: Session, row: HandoffRequest, username: str, name: str) -> Handover:
        previous = display_names(session).get(row.assigned_to or "", row.assigned_to or "")
        now = self.clock()
        row.assigned_to, row.last_activity_at, row.updated_at = username, now, now
        return Handover(row.conversation_id, previous, name)
