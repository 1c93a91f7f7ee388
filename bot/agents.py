"""Human agents and supervisors of the desk: accounts, passwords, presence, login sessions."""

from __future__ import annotations

import enum
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import List, Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from bot.clock import Clock, utc_now
from bot.db import Database
from bot.models import Agent, DeskSession

USERNAME = re.compile(r"[a-z0-9_.-]{2,64}")
MIN_PASSWORD_LENGTH = 10
SESSION_LIFETIME = timedelta(hours=12)

_hasher = PasswordHasher()  # argon2id with the library's current parameters
# Verified against when the username is unknown, so both paths cost the same.
_DUMMY_HASH = _hasher.hash("not-a-password-of-anyone")


class Role(str, enum.Enum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    TRAINER = "trainer"  # reviews what the bot did not understand (/review) and nothing else


# The roles that talk to policyholders and work tickets: a trainer is neither online for the
# queue nor someone a conversation or ticket can be given to.
HANDLER_ROLES = (Role.AGENT.value, Role.SUPERVISOR.value)


class AccountError(ValueError):
    pass


@dataclass(frozen=True)
class AgentAccount:
    id: int
    username: str
    display_name: str
    role: Role

    @property
    def is_supervisor(self) -> bool:
        return self.role is Role.SUPERVISOR

    @property
    def is_trainer(self) -> bool:
        return self.role is Role.TRAINER

    @property
    def may_review(self) -> bool:
        """Reviews unclear messages on /review: supervisors and trainers."""
        return self.role in (Role.SUPERVISOR, Role.TRAINER)

    @classmethod
    def of(cls, row: Agent) -> "AgentAccount":
        return cls(row.id, row.username, row.display_name, Role(row.role))


@dataclass(frozen=True)
class LoginSession:
    token: str  # the cookie value; only its hash is stored
    csrf_token: str
    agent: AgentAccount


@dataclass(frozen=True)
class LoginAttempt:
    session: Optional[LoginSession]  # None: refused
    account: bool  # the username names an active account (for the security log, never shown)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AgentService:
    def __init__(self, db: Database, clock: Clock = utc_now) -> None:
        self.db = db
        self.clock = clock

    def add(self, username: str, display_name: str, password: str, role: Role) -> AgentAccount:
        if not USERNAME.fullmatch(username):
            raise AccountError("username: 2-64 lowercase letters, digits, '_', '.', '-'")
        display_name = display_name.strip()
        if not 1 <= len(display_name) <= 64:
            raise AccountError("display name: 1-64 characters")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AccountError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
        try:
            with self.db.transaction() as session:
                row = Agent(
                    username=username,
                    display_name=display_name,
                    role=role.value,
                    password_hash=_hasher.hash(password),
                    active=True,
                    created_at=self.clock(),
                )
                session.add(row)
                session.flush()
                return AgentAccount.of(row)
        except IntegrityError as exc:
            raise AccountError(f"username {username!r} already exists") from exc

    def list(self) -> List[AgentAccount]:
        with self.db.transaction() as session:
            rows = session.execute(select(Agent).where(Agent.active).order_by(Agent.id)).scalars()
            return [AgentAccount.of(row) for row in rows]

    def handlers(self) -> List[AgentAccount]:
        """Active accounts a conversation or ticket can be given to (not trainers)."""
        return [account for account in self.list() if account.role.value in HANDLER_ROLES]

    def deactivate(self, username: str) -> bool:
        with self.db.transaction() as session:
            row = session.execute(select(Agent).where(Agent.username == username)).scalar_one_or_none()
            if row is None:
                return False
            row.active = False
            session.execute(delete(DeskSession).where(DeskSession.agent_id == row.id))
            return True

    # -- login sessions ---------------------------------------------------------

    def login(self, username: str, password: str) -> Optional[LoginSession]:
        """The new session, or None; an unknown or malformed username costs a verification too."""
        return self.attempt(username, password).session

    def attempt(self, username: str, password: str) -> LoginAttempt:
        """A login, and whether the username was an account's; verification costs the same either way."""
        with self.db.transaction() as session:
            row = (
                session.execute(select(Agent).where(Agent.username == username, Agent.active)).scalar_one_or_none()
                if USERNAME.fullmatch(username)
                else None
            )
            try:
                # A form field may hold lone surrogates (odd multipart charsets): verified as bytes.
                _hasher.verify(row.password_hash if row else _DUMMY_HASH, password.encode("utf-8", "surrogatepass"))
            except (VerificationError, InvalidHashError):
                return LoginAttempt(None, row is not None)
            if row is None:
                return LoginAttempt(None, False)
            if _hasher.check_needs_rehash(row.password_hash):
                row.password_hash = _hasher.hash(password)
            now = self.clock()
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            session.add(
                DeskSession(
                    token_hash=_token_hash(token),
                    agent_id=row.id,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=now + SESSION_LIFETIME,
                )
            )
            row.last_seen_at = now
            return LoginAttempt(LoginSession(token, csrf, AgentAccount.of(row)), True)

    def resolve(self, token: str, mark_seen: bool = True) -> Optional[LoginSession]:
        """The live session behind a cookie value, or None; marks the agent as seen unless told not to."""
        if not token or len(token) > 128 or not token.isascii():
            return None
        with self.db.transaction() as session:
            found = session.execute(
                select(DeskSession, Agent)
                .join(Agent, Agent.id == DeskSession.agent_id)
                .where(DeskSession.token_hash == _token_hash(token), Agent.active)
            ).first()
            now = self.clock()
            if found is None or _aware(found.DeskSession.expires_at) <= now:
                return None
            if mark_seen:
                found.Agent.last_seen_at = now
            return LoginSession(token, found.DeskSession.csrf_token, AgentAccount.of(found.Agent))

    def logout(self, token: str) -> None:
        with self.db.transaction() as session:
            session.execute(delete(DeskSession).where(DeskSession.token_hash == _token_hash(token)))

    def seen(self, agent_id: int) -> None:
        with self.db.transaction() as session:
            row = session.get(Agent, agent_id)
            if row is not None:
                row.last_seen_at = self.clock()

    def online_count(self, within: timedelta) -> int:
        """Agents whose desk has been open within the presence window."""
        with self.db.transaction() as session:
            return session.execute(
                select(func.count())
                .select_from(Agent)
                .where(Agent.active, Agent.role.in_(HANDLER_ROLES), Agent.last_seen_at >= self.clock() - within)
            ).scalar_one()


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes; everything is stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
