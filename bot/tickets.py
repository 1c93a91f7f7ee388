"""Complaint tickets: numbering, deadlines, idempotent submission, lifecycle, status lookup."""

from __future__ import annotations

import enum
import logging
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable, Collection, Dict, List, Optional, Tuple
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import step_content, taxonomy, validators
from bot.alerts import raise_alert
from bot.clock import Clock, utc_now
from bot.db import Database
from bot.deadlines import DeadlineRules, effective_deadline
from bot.models import Notice, StatusLookup, Ticket, TicketEvent, TicketNote, TicketSequence
from bot.regions import RegionMap
from bot.risk import RISK_PRIORITY, describe, stored_flags
from bot.settings import Settings
from bot.text_normalisation import normalise

log = logging.getLogger(__name__)


class TicketStatus(str, enum.Enum):
    """The lifecycle 受理→调查→处理→反馈→跟进→结案."""

    ACCEPTED = "accepted"
    INVESTIGATING = "investigating"
    PROCESSING = "processing"
    FEEDBACK = "feedback"
    FOLLOW_UP = "follow_up"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]

    def can_move_to(self, target: "TicketStatus") -> bool:
        order = list(TicketStatus)
        # Forward along the lifecycle, or straight to 结案 (e.g. withdrawal, Art. 15).
        return order.index(target) > order.index(self) or (
            target is TicketStatus.CLOSED and self is not TicketStatus.CLOSED
        )


_STATUS_LABELS = {
    TicketStatus.ACCEPTED: "受理",
    TicketStatus.INVESTIGATING: "调查",
    TicketStatus.PROCESSING: "处理",
    TicketStatus.FEEDBACK: "反馈",
    TicketStatus.FOLLOW_UP: "跟进",
    TicketStatus.CLOSED: "结案",
}

CATEGORY_LABELS = taxonomy.CATEGORY_LABELS  # kept importable from here: the forms, NLU and replies use it


class LifecycleError(ValueError):
    pass


class TicketNotFound(LookupError):
    pass


@dataclass(frozen=True)
class ComplaintDraft:
    """What the intake form collected; free text is kept exactly as typed."""

    conversation_id: str
    channel: str
    category: str
    complainant_name: str
    phone_number: str
    description: str
    customer_request: str
    policy_number: Optional[str] = None
    kind: str = "complaint"
    privacy_notice_version: Optional[str] = None
    health_consent: Optional[str] = None  # bot.consent.GRANTED / REFUSED; None: no health details
    # Threats heard in the conversation (bot/risk.py): the ticket goes first and a supervisor is alerted.
    risk_flags: Tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A spooled draft comes back from JSON with a list.
        object.__setattr__(self, "risk_flags", tuple(self.risk_flags or ()))

    def to_json(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Receipt:
    ticket_no: str
    deadline: date
    created: bool  # False when the submission key already had a ticket


@dataclass(frozen=True)
class StatusAnswer:
    found: bool
    ticket_no: Optional[str] = None
    status_label: Optional[str] = None
    deadline: Optional[date] = None
    attempts_left: int = 0
    locked: bool = False  # too many failures for this conversation, ticket, phone or client
    lock_minutes: int = 0  # how long failures count (the window), for telling the user
    extension_days: int = 0  # days a supervisor added to the deadline (already in `deadline`)
    paused: bool = False  # an external appraisal is running: the clock stands still
    latest_notice: Optional[str] = None  # the newest notice sent to the complainant, as sent
    latest_notice_at: Optional[datetime] = None
    category: Optional[str] = None  # CATEGORY_LABELS key


@dataclass(frozen=True)
class OpenTickets:
    """A look-up by phone and name: the person's open tickets, newest first, or the neutral failure."""

    tickets: Tuple[StatusAnswer, ...] = ()
    attempts_left: int = 0
    locked: bool = False
    lock_minutes: int = 0

    @property
    def found(self) -> bool:
        return bool(self.tickets)


# A look-up by phone and name lists at most this many open tickets (they become buttons on a phone screen).
MAX_OPEN_TICKETS_LISTED = 5
# Tickets of one phone read to compare names; a phone with more is not a policyholder's own.
_TICKETS_PER_PHONE_READ = 200


def _name_key(name: str) -> str:
    """A name as compared: what the name validator keeps, in simplified half-width characters, without spaces or
    case ("張三" and "张三", "Li Ming" and "LI MING" are the same person)."""
    kept = validators.complainant_name(name).value or name
    return "".join(normalise(kept).text.split()).casefold()


# Serialises status look-ups on PostgreSQL so that parallel guesses cannot all pass the
# count before any of them is recorded (SQLite's single writer does this by itself).
_LOOKUP_LOCK_KEY = 0x5354_4C4B  # "STLK"


def bot_actor(conversation_id: str) -> str:
    """The audit actor for a change the bot makes on behalf of one conversation."""
    return f"bot:{conversation_id}"[:100]


class TicketService:
    def __init__(self, db: Database, settings: Settings, clock: Clock = utc_now) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.zone = ZoneInfo(settings.timezone)
        self.regions = RegionMap.load(settings.branches_file)

    # -- intake ---------------------------------------------------------------

    def submit(
        self,
        draft: ComplaintDraft,
        submission_key: str,
        then: Optional[Callable[[Session, Ticket], None]] = None,
    ) -> Receipt:
        """Writes exactly one ticket per submission key, however often it is called; `then` runs in the
        same transaction on a new ticket (e.g. queueing its acknowledgement)."""
        existing = self._find_by_key(submission_key)
        if existing:
            return existing
        try:
            with self.db.transaction() as session:
                ticket = self.insert(session, draft, submission_key)
                if then is not None:
                    then(session, ticket)
                return Receipt(ticket.ticket_no, ticket.deadline, created=True)
        except IntegrityError:
            # A concurrent retry of the same submission won the race.
            existing = self._find_by_key(submission_key)
            if existing:
                return existing
            raise

    def _find_by_key(self, submission_key: str) -> Optional[Receipt]:
        with self.db.transaction() as session:
            ticket = session.execute(select(Ticket).where(Ticket.submission_key == submission_key)).scalar_one_or_none()
            return Receipt(ticket.ticket_no, ticket.deadline, created=False) if ticket else None

    def insert(
        self, session: Session, draft: ComplaintDraft, submission_key: str, actor: Optional[str] = None
    ) -> Ticket:
        """A new ticket in the caller's unit of work; `actor` (default: the bot) is audited."""
        now = self.clock()
        local_day = now.astimezone(self.zone).date()
        ticket = Ticket(
            ticket_no=self._next_number(session, local_day),
            submission_key=submission_key,
            kind=draft.kind,
            conversation_id=draft.conversation_id,
            channel=draft.channel,
            status=TicketStatus.ACCEPTED.value,
            category=draft.category,
            policy_number=draft.policy_number,
            complainant_name=draft.complainant_name,
            phone_number=draft.phone_number,
            description=draft.description,
            customer_request=draft.customer_request,
            privacy_notice_version=draft.privacy_notice_version,
            health_consent=draft.health_consent,
            received_at=now,
            deadline=effective_deadline(now, DeadlineRules.of(self.settings), now),
            updated_at=now,
            region=self.regions.region_for(draft.policy_number, draft.phone_number),
            previous_complaint_at=self._previous_complaint(session, draft.phone_number, now),
        )
        if draft.risk_flags:
            ticket.risk_flags = stored_flags(draft.risk_flags)
            ticket.priority = RISK_PRIORITY
        session.add(ticket)
        session.flush()
        if draft.risk_flags:
            kind = "留言" if draft.kind == "callback" else "投诉"
            raise_alert(
                session,
                "risk",
                ticket.id,
                f"风险{kind} {ticket.ticket_no}：{describe(draft.risk_flags)}，请主管立即关注",
                f"risk:{ticket.id}",
                now,
            )
        session.add(
            TicketEvent(
                ticket_id=ticket.id,
                at=now,
                actor=actor or bot_actor(draft.conversation_id),
                field="status",
                old_value=None,
                new_value=TicketStatus.ACCEPTED.value,
            )
        )
        log.info("ticket %s created for conversation %s", ticket.ticket_no, draft.conversation_id)
        return ticket

    def _previous_complaint(self, session: Session, phone: str, now: datetime) -> Optional[datetime]:
        """When the same phone last complained (the analysis counts repeat complaints from it)."""
        return session.execute(
            select(func.max(Ticket.received_at)).where(
                Ticket.phone_hash == self.db.crypto.digest(phone), Ticket.kind == "complaint", Ticket.received_at <= now
            )
        ).scalar()

    def _next_number(self, session: Session, day: date) -> str:
        key = day.strftime("%Y%m%d")
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(insert(TicketSequence).values(day=key, last_value=0).on_conflict_do_nothing())
        # The UPDATE takes the row lock (PostgreSQL) or the write lock (SQLite),
        # so concurrent transactions get distinct values.
        session.execute(
            update(TicketSequence).where(TicketSequence.day == key).values(last_value=TicketSequence.last_value + 1)
        )
        value = session.execute(select(TicketSequence.last_value).where(TicketSequence.day == key)).scalar_one()
        if value > 999_999:
            raise OverflowError(f"more than 999999 tickets on {key}")
        return f"TS{key}{value:06d}"

    # -- lifecycle ------------------------------------------------------------

    def change(self, ticket_no: str, actor: str, **changes: Optional[str]) -> Ticket:
        """Edits status, category or sub-reason, with one audit event per field."""
        allowed = {"status", "category", "sub_reason"}
        if not set(changes) <= allowed:
            raise ValueError(f"only {sorted(allowed)} can be changed")
        with self.db.transaction() as session:
            ticket = self._get(session, ticket_no)
            now = self.clock()
            for field, new in changes.items():
                old = getattr(ticket, field)
                if old == new:
                    continue
                if field == "status":
                    self._check_transition(old, new)
                    # The same content rules as the ticket page (bot/lifecycle.py).
                    values = {name: getattr(ticket, name) for name in step_content.FIELD_LABELS}
                    missing = step_content.missing_for(old, str(new), values)
                    if missing:
                        raise LifecycleError(step_content.missing_message(missing))
                    if new == TicketStatus.CLOSED.value:
                        ticket.closed_at = now
                if field == "category" and new not in CATEGORY_LABELS:
                    raise ValueError(f"unknown category {new!r}")
                setattr(ticket, field, new)
                session.add(
                    TicketEvent(ticket_id=ticket.id, at=now, actor=actor, field=field, old_value=old, new_value=new)
                )
            ticket.updated_at = now
            return ticket

    @staticmethod
    def _check_transition(old: str, new: Optional[str]) -> None:
        try:
            source, target = TicketStatus(old), TicketStatus(new)
        except ValueError as exc:
            raise LifecycleError("未知的处理状态") from exc
        if not source.can_move_to(target):
            raise LifecycleError(f"不能从{source.label}变更为{target.label}")

    def withdraw(self, ticket_no: str, actor: str) -> Ticket:
        """Art. 15: the procedure ends on the day the withdrawal is received; `actor` is audited."""
        with self.db.transaction() as session:
            ticket = self._get(session, ticket_no)
            if ticket.status == TicketStatus.CLOSED.value:
                return ticket
            now = self.clock()
            session.add(
                TicketEvent(
                    ticket_id=ticket.id,
                    at=now,
                    actor=actor,
                    field="status",
                    old_value=ticket.status,
                    new_value=TicketStatus.CLOSED.value,
                )
            )
            ticket.status = TicketStatus.CLOSED.value
            ticket.withdrawn_at = ticket.closed_at = ticket.updated_at = now
            return ticket

    def add_note(self, ticket_no: str, author: str, body: str) -> None:
        """An internal note: audited, never shown to the policyholder."""
        with self.db.transaction() as session:
            ticket = self._get(session, ticket_no)
            now = self.clock()
            session.add(TicketNote(ticket_id=ticket.id, at=now, author=author, body=body))
            session.add(
                TicketEvent(
                    ticket_id=ticket.id, at=now, actor=author, field="note", old_value=None, new_value=body[:200]
                )
            )
            ticket.updated_at = now

    def notes(self, ticket_no: str) -> List[Dict]:
        with self.db.transaction() as session:
            ticket = self._get(session, ticket_no)
            rows = session.execute(
                select(TicketNote).where(TicketNote.ticket_id == ticket.id).order_by(TicketNote.id)
            ).scalars()
            return [row.as_dict() for row in rows]

    def reveal_phone(self, ticket_no: str, actor: str) -> str:
        """The full phone number for a call back; each look is audited."""
        with self.db.transaction() as session:
            ticket = self._get(session, ticket_no)
            session.add(
                TicketEvent(
                    ticket_id=ticket.id,
                    at=self.clock(),
                    actor=actor,
                    field="phone_viewed",
                    old_value=None,
                    new_value=None,
                )
            )
            return ticket.phone_number

    # -- reading --------------------------------------------------------------

    @staticmethod
    def _get(session: Session, ticket_no: str) -> Ticket:
        ticket = session.execute(select(Ticket).where(Ticket.ticket_no == ticket_no)).scalar_one_or_none()
        if ticket is None:
            raise TicketNotFound(ticket_no)
        return ticket

    def get(self, ticket_no: str) -> Dict:
        with self.db.transaction() as session:
            ticket = self._get(session, ticket_no)
            data = ticket.as_dict()
            data["events"] = [event.as_dict() for event in ticket.events]
            return data

    def list(self, limit: int = 100) -> List[Dict]:
        with self.db.transaction() as session:
            rows = session.execute(select(Ticket).order_by(Ticket.id.desc()).limit(limit)).scalars()
            return [ticket.as_dict() for ticket in rows]

    def lookup_status(
        self, conversation_id: str, ticket_no: str, phone: str, client: Optional[str] = None
    ) -> StatusAnswer:
        """Answers only when the phone matches; unknown and mismatched look the same.

        Failures are limited per conversation, and across all conversations per ticket
        number, per phone number (its keyed hash) and per client address within
        `status_lock_window_minutes`. A locked look-up is refused even with the right
        phone, and the refusal does not depend on whether the ticket exists.
        """
        ticket_no = ticket_no.strip().upper()[:32]
        with self.db.transaction() as session:
            attempt, left = self._attempt(session, conversation_id, ticket_no, phone, client)
            if attempt is None:
                return StatusAnswer(found=False, locked=True, lock_minutes=self.settings.status_lock_window_minutes)
            ticket = session.execute(select(Ticket).where(Ticket.ticket_no == ticket_no)).scalar_one_or_none()
            if ticket is None or not self._phone_matches(ticket, phone):
                log.info("status look-up failed (conversation %s, ticket %s)", conversation_id, ticket_no)
                return StatusAnswer(
                    found=False,
                    attempts_left=left - 1,
                    locked=left <= 1,
                    lock_minutes=self.settings.status_lock_window_minutes,
                )
            attempt.succeeded = 1
            return self._answer(session, ticket, attempts_left=left)

    def lookup_open_tickets(
        self, conversation_id: str, phone: str, name: str, client: Optional[str] = None
    ) -> OpenTickets:
        """The open tickets filed under this phone AND complainant name, for someone without the number.

        A wrong phone, a wrong name and no open ticket give the same answer and count as one failure
        against the same limits as `lookup_status` (per conversation, phone and client; there is no
        ticket number to count per), so neither the phone nor the name can be probed.
        """
        minutes = self.settings.status_lock_window_minutes
        with self.db.transaction() as session:
            attempt, left = self._attempt(session, conversation_id, None, phone, client)
            if attempt is None:
                return OpenTickets(locked=True, lock_minutes=minutes)
            wanted = _name_key(name)
            candidates = session.execute(
                select(Ticket)
                .where(Ticket.phone_hash == self.db.crypto.digest(phone), Ticket.status != TicketStatus.CLOSED.value)
                .order_by(Ticket.received_at.desc(), Ticket.id.desc())
                .limit(_TICKETS_PER_PHONE_READ)
            ).scalars()
            mine = [
                ticket
                for ticket in candidates
                if self._phone_matches(ticket, phone) and _name_key(ticket.complainant_name) == wanted
            ][:MAX_OPEN_TICKETS_LISTED]
            if not mine:
                log.info("status look-up by phone and name failed (conversation %s)", conversation_id)
                return OpenTickets(attempts_left=left - 1, locked=left <= 1, lock_minutes=minutes)
            attempt.succeeded = 1
            return OpenTickets(
                tickets=tuple(self._answer(session, ticket, attempts_left=left) for ticket in mine),
                attempts_left=left,
                lock_minutes=minutes,
            )

    def verified_status(self, ticket_no: str, verified: Collection[str]) -> Optional[StatusAnswer]:
        """The status of a ticket picked from a list `lookup_open_tickets` gave this conversation; None for any
        other number, whatever a button payload says."""
        if ticket_no not in verified:
            return None
        with self.db.transaction() as session:
            ticket = session.execute(select(Ticket).where(Ticket.ticket_no == ticket_no)).scalar_one_or_none()
            return self._answer(session, ticket) if ticket else None

    def _attempt(
        self, session: Session, conversation_id: str, ticket_no: Optional[str], phone: str, client: Optional[str]
    ) -> Tuple[Optional[StatusLookup], int]:
        """Records a look-up attempt (a failure until marked succeeded) and the failures still allowed;
        (None, 0) when a limit is reached: the refused attempt neither counts nor extends the lock."""
        client = client[:64] if client else None
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOOKUP_LOCK_KEY})
        attempt = StatusLookup(
            conversation_id=conversation_id,
            at=self.clock(),
            succeeded=0,
            ticket_no=ticket_no,
            phone_key=self._phone_key(phone),
            client=client,
        )
        session.add(attempt)
        session.flush()  # SQLite: takes the write lock before counting
        since = attempt.at - timedelta(minutes=self.settings.status_lock_window_minutes)
        left = self._attempts_left(session, attempt, since)
        if left > 0:
            return attempt, left
        session.delete(attempt)
        log.warning(
            "status look-up refused after too many failures (conversation %s, ticket %s)", conversation_id, ticket_no
        )
        return None, 0

    def own_tickets(self, conversation_id: str, channel: str, limit: int = 3) -> List[StatusAnswer]:
        """The status of the tickets filed in this conversation, newest first, for a channel whose sender id
        is the person (a WeChat OpenID, authenticated by WeChat's signature): no number to type."""
        with self.db.transaction() as session:
            tickets = session.execute(
                select(Ticket)
                .where(Ticket.conversation_id == conversation_id, Ticket.channel == channel)
                .order_by(Ticket.id.desc())
                .limit(limit)
            ).scalars()
            return [self._answer(session, ticket) for ticket in tickets]

    @staticmethod
    def _answer(session: Session, ticket: Ticket, attempts_left: int = 0) -> StatusAnswer:
        notice = session.execute(
            select(Notice.body, Notice.sent_at)
            .where(Notice.ticket_id == ticket.id, Notice.status == "sent", Notice.body.is_not(None))
            .order_by(Notice.sent_at.desc(), Notice.id.desc())
            .limit(1)
        ).first()
        return StatusAnswer(
            found=True,
            ticket_no=ticket.ticket_no,
            status_label=TicketStatus(ticket.status).label,
            deadline=ticket.deadline,
            attempts_left=attempts_left,
            extension_days=ticket.extension_days or 0,
            paused=ticket.paused_since is not None,
            latest_notice=notice.body if notice else None,
            latest_notice_at=notice.sent_at if notice else None,
            category=ticket.category,
        )

    def _attempts_left(self, session: Session, attempt: StatusLookup, since: datetime) -> int:
        """The fewest failures still allowed by any of the limits that apply to `attempt`."""
        limits = [
            (StatusLookup.conversation_id, attempt.conversation_id, self.settings.status_max_attempts),
            (StatusLookup.phone_key, attempt.phone_key, self.settings.status_max_failures_per_phone),
        ]
        if attempt.ticket_no:  # a look-up by phone and name has no number to count per
            limits.append((StatusLookup.ticket_no, attempt.ticket_no, self.settings.status_max_failures_per_ticket))
        if attempt.client:
            limits.append((StatusLookup.client, attempt.client, self.settings.status_max_failures_per_client))
        left = []
        for column, value, limit in limits:
            failures = session.execute(
                select(func.count())
                .select_from(StatusLookup)
                .where(
                    column == value,
                    StatusLookup.succeeded == 0,
                    StatusLookup.at >= since,
                    StatusLookup.id != attempt.id,
                )
            ).scalar_one()
            left.append(limit - failures)
        return min(left)

    def _phone_key(self, phone: str) -> str:
        """Keyed hash of a phone number: look-ups are counted per phone without storing it."""
        return self.db.crypto.digest(phone)

    @staticmethod
    def _phone_matches(ticket: Ticket, phone: str) -> bool:
        return ticket.phone_number == phone
