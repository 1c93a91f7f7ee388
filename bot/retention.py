"""Retention: personal data is deleted once its period is over (`python -m bot retention …`).

What is due, with the periods of bot/settings.py:

- conversation trackers (Rasa's `events` table in the tracker database): every
  event of a conversation whose last event is older than RETENTION_TRACKER_DAYS,
  or which unfollowed the WeChat account more than RETENTION_UNFOLLOWED_DAYS ago
  without writing since; never while the conversation has an open ticket or a
  waiting or assigned handoff request;
- ended handoff requests without a ticket, and undeliverable-message records,
  after RETENTION_TRACKER_DAYS;
- closed tickets with their audit trail, notes and handoff requests,
  RETENTION_TICKET_YEARS after closing;
- status look-ups after RETENTION_STATUS_LOOKUP_DAYS, expired desk sessions,
  WeChat inbox rows after RETENTION_WECHAT_INBOX_DAYS.

Several replicas may run the purge at once. A lease row in the ticket database
lets one runner at a time work (the others skip), and every delete is keyed on
what is due when it runs and counted by the rows it removed: a runner whose
lease ran out while a second one started deletes nothing twice and counts
nothing twice. Each run is recorded in `retention_runs` with counts per kind.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import sqlalchemy as sa
from sqlalchemy import and_, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from bot.clock import Clock, utc_now
from bot.db import Database, make_engine
from bot.leases import Lease, runner_name
from bot.models import (
    DeliveryFailure,
    DeskSession,
    HandoffRequest,
    NluMark,
    RetentionRun,
    StatusLookup,
    Ticket,
    TicketEvent,
    TicketNote,
    WeChatInboxMessage,
    WeChatUnfollow,
)
from bot.settings import Settings

log = logging.getLogger(__name__)

LEASE_NAME = "retention"
LEASE_SECONDS = 900
BATCH = 500
ACTIVE_HANDOFF_STATUSES = ("waiting", "assigned")
CLOSED = "closed"
KINDS = (
    "tracker_conversations",
    "tracker_events",
    "tracker_conversations_unfollowed",
    "tickets",
    "ticket_events",
    "ticket_notes",
    "handoff_requests",
    "delivery_failures",
    "status_lookups",
    "desk_sessions",
    "wechat_inbox",
    "nlu_marks",
)


def bulk_delete(model: type) -> "sa.sql.Delete":
    """A DELETE that does not look for the rows in the session (units of work are short)."""
    return delete(model).execution_options(synchronize_session=False)


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; all are stored in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _chunks(items: Sequence[str], size: int = BATCH) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def years_before(moment: datetime, years: int) -> datetime:
    """The same calendar moment `years` earlier (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


# -- Rasa's tracker store --------------------------------------------------------

_events = sa.table(
    "events",
    sa.column("id", sa.Integer),
    sa.column("sender_id", sa.String),
    sa.column("type_name", sa.String),
    sa.column("timestamp", sa.Float),
    sa.column("data", sa.Text),
)


class TrackerEvents:
    """The `events` table of Rasa's SQL tracker store (bot/rasa/tracker_store.py), read and pruned here."""

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        # A SQLite tracker file that Rasa has not created yet holds nothing.
        self._missing_file = (
            parsed.get_backend_name() == "sqlite" and bool(parsed.database) and not Path(parsed.database).exists()
        )
        self.engine = None if self._missing_file else make_engine(url)

    def _ready(self, connection: sa.engine.Connection) -> bool:
        return sa.inspect(connection).has_table("events")

    def stale_conversations(self, before: float) -> List[str]:
        """Conversations whose last event is older than `before` (seconds since the epoch)."""
        if self.engine is None:
            return []
        with self.engine.connect() as connection:
            if not self._ready(connection):
                return []
            return list(
                connection.execute(
                    select(_events.c.sender_id)
                    .group_by(_events.c.sender_id)
                    .having(func.max(_events.c.timestamp) < before)
                    .order_by(_events.c.sender_id)
                ).scalars()
            )

    def last_event_at(self, conversation_ids: Sequence[str]) -> Dict[str, float]:
        if self.engine is None or not conversation_ids:
            return {}
        found: Dict[str, float] = {}
        with self.engine.connect() as connection:
            if not self._ready(connection):
                return {}
            for chunk in _chunks(list(conversation_ids)):
                found.update(
                    connection.execute(
                        select(_events.c.sender_id, func.max(_events.c.timestamp))
                        .where(_events.c.sender_id.in_(chunk))
                        .group_by(_events.c.sender_id)
                    ).all()
                )
        return found

    def delete(self, conversation_ids: Sequence[str], unless_since: Optional[float] = None) -> Dict[str, int]:
        """Deletes these conversations' events, except those with an event at or after `unless_since`.

        The condition is checked by the DELETE itself, so a conversation that
        came back to life since it was found due is kept.
        """
        counts = {"conversations": 0, "events": 0}
        if self.engine is None or not conversation_ids:
            return counts
        for chunk in _chunks(list(conversation_ids), 100):
            with self.engine.begin() as connection:
                if not self._ready(connection):
                    return counts
                for conversation_id in chunk:
                    condition = _events.c.sender_id == conversation_id
                    if unless_since is not None:
                        later = _events.alias("later")
                        recent = select(later.c.id).where(
                            later.c.sender_id == conversation_id, later.c.timestamp >= unless_since
                        )
                        condition = and_(condition, ~recent.exists())
                    # Counted by the rows this statement removed: a concurrent runner's never count twice.
                    removed = connection.execute(delete(_events).where(condition)).rowcount
                    counts["events"] += removed
                    counts["conversations"] += int(removed > 0)
        return counts

    def latest(self, kinds: Sequence[str], limit: int) -> List[Tuple[str, str]]:
        """(conversation id, stored JSON) of the newest `limit` events of these kinds, oldest first."""
        if self.engine is None:
            return []
        with self.engine.connect() as connection:
            if not self._ready(connection):
                return []
            rows = connection.execute(
                select(_events.c.sender_id, _events.c.data)
                .where(_events.c.type_name.in_(list(kinds)))
                .order_by(_events.c.id.desc())
                .limit(limit)
            ).all()
        return [(str(sender), str(data)) for sender, data in reversed(rows)]

    def events_of(self, conversation_id: str) -> List[str]:
        """The stored JSON of a conversation's events, oldest first."""
        if self.engine is None:
            return []
        with self.engine.connect() as connection:
            if not self._ready(connection):
                return []
            return list(
                connection.execute(
                    select(_events.c.data).where(_events.c.sender_id == conversation_id).order_by(_events.c.id)
                ).scalars()
            )

    def dispose(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


# -- WeChat unfollow -------------------------------------------------------------


def record_unfollow(db: Database, conversation_id: str, at: Optional[datetime] = None) -> None:
    """Called by the WeChat channel on an `unsubscribe` event: the conversation's clock starts now.

    A later unfollow (after following again) moves the clock; the purge ignores
    the record if the person wrote again after it.
    """
    at = at or utc_now()
    with db.transaction() as session:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(WeChatUnfollow).values(conversation_id=conversation_id[:255], unfollowed_at=at)
        session.execute(statement.on_conflict_do_update(index_elements=["conversation_id"], set_={"unfollowed_at": at}))


def record_unfollow_safely(db: Database, conversation_id: str) -> None:
    """record_unfollow for the WeChat channel: a database error is logged, never raised
    (the general tracker period still applies to the conversation)."""
    try:
        record_unfollow(db, conversation_id)
    except Exception:  # noqa: BLE001 (the channel must answer WeChat whatever happens here)
        log.exception("could not record a WeChat unfollow")


# -- the purge ---------------------------------------------------------------------


@dataclass(frozen=True)
class RetentionReport:
    run_id: int
    counts: Dict[str, int]


class RetentionPurge:
    def __init__(
        self,
        db: Database,
        trackers: TrackerEvents,
        settings: Settings,
        clock: Clock = utc_now,
        runner: Optional[str] = None,
    ) -> None:
        self.db = db
        self.trackers = trackers
        self.settings = settings
        self.clock = clock
        self.runner = (runner or runner_name())[:100]
        self.lease = Lease(db, LEASE_NAME, LEASE_SECONDS, self.runner, clock)

    # -- lease ---------------------------------------------------------------

    def _take_lease(self, now: datetime) -> bool:
        return self.lease.take(now)

    def _renew_lease(self) -> None:
        self.lease.renew()

    def _release_lease(self) -> None:
        self.lease.release()

    def last_run(self) -> Optional[RetentionRun]:
        with self.db.transaction() as session:
            return session.execute(
                select(RetentionRun).order_by(RetentionRun.finished_at.desc(), RetentionRun.id.desc()).limit(1)
            ).scalar_one_or_none()

    # -- one run ---------------------------------------------------------------

    def run_once(self, skip_if_ran_within: Optional[timedelta] = None) -> Optional[RetentionReport]:
        """Purges what is due; None when another runner holds the lease (or ran recently enough)."""
        started = self.clock()
        if not self._take_lease(started):
            log.info("retention: another runner is purging; skipped")
            return None
        try:
            if skip_if_ran_within is not None:
                last = self.last_run()
                if last is not None and _aware(last.finished_at) > started - skip_if_ran_within:
                    log.info("retention: purged at %s already; skipped", _aware(last.finished_at).isoformat())
                    return None
            counts = dict.fromkeys(KINDS, 0)
            self._trackers(started, counts)
            self._renew_lease()
            self._tickets(started, counts)
            self._renew_lease()
            self._small_tables(started, counts)
            with self.db.transaction() as session:
                run = RetentionRun(runner=self.runner, started_at=started, finished_at=self.clock(), counts=counts)
                session.add(run)
                session.flush()
                run_id = run.id
            done = " ".join(f"{k}={v}" for k, v in counts.items() if v)
            log.info("retention run %s: %s", run_id, done or "nothing was due")
            return RetentionReport(run_id, counts)
        finally:
            self._release_lease()

    def _protected(self, conversation_ids: Sequence[str]) -> set:
        """Conversations still being handled: an open ticket or an active handoff request."""
        protected: set = set()
        with self.db.transaction() as session:
            for chunk in _chunks(list(conversation_ids)):
                protected.update(
                    session.execute(
                        select(Ticket.conversation_id).where(Ticket.conversation_id.in_(chunk), Ticket.status != CLOSED)
                    ).scalars()
                )
                protected.update(
                    session.execute(
                        select(HandoffRequest.conversation_id).where(
                            HandoffRequest.conversation_id.in_(chunk),
                            HandoffRequest.status.in_(ACTIVE_HANDOFF_STATUSES),
                        )
                    ).scalars()
                )
        return protected

    def _trackers(self, now: datetime, counts: Dict[str, int]) -> None:
        cutoff = (now - timedelta(days=self.settings.retention_tracker_days)).timestamp()
        stale = self.trackers.stale_conversations(cutoff)
        protected = self._protected(stale)
        deleted = self.trackers.delete([c for c in stale if c not in protected], unless_since=cutoff)
        counts["tracker_conversations"] += deleted["conversations"]
        counts["tracker_events"] += deleted["events"]

        # WeChat unfollows: the clock started at the unfollow.
        unfollow_cutoff = now - timedelta(days=self.settings.retention_unfollowed_days)
        with self.db.transaction() as session:
            due = session.execute(
                select(WeChatUnfollow.conversation_id, WeChatUnfollow.unfollowed_at).where(
                    WeChatUnfollow.unfollowed_at < unfollow_cutoff
                )
            ).all()
        protected = self._protected([conversation for conversation, _ in due])
        for conversation_id, unfollowed_at in due:
            if conversation_id in protected:
                continue
            deleted = self.trackers.delete([conversation_id], unless_since=_aware(unfollowed_at).timestamp())
            counts["tracker_conversations_unfollowed"] += deleted["conversations"]
            counts["tracker_events"] += deleted["events"]
            # Purged, or the person wrote again since (the general rule applies then).
            with self.db.transaction() as session:
                session.execute(
                    bulk_delete(WeChatUnfollow).where(
                        WeChatUnfollow.conversation_id == conversation_id, WeChatUnfollow.unfollowed_at == unfollowed_at
                    )
                )

    def _tickets(self, now: datetime, counts: Dict[str, int]) -> None:
        cutoff = years_before(now, self.settings.retention_ticket_years)
        with self.db.transaction() as session:
            due = list(
                session.execute(
                    select(Ticket.id).where(Ticket.status == CLOSED, Ticket.closed_at < cutoff).order_by(Ticket.id)
                ).scalars()
            )
        for chunk in _chunks(due):
            with self.db.transaction() as session:
                # Checked again by each statement: a ticket reopened meanwhile stays.
                still_due = select(Ticket.id).where(
                    Ticket.id.in_(chunk), Ticket.status == CLOSED, Ticket.closed_at < cutoff
                )
                counts["handoff_requests"] += session.execute(
                    bulk_delete(HandoffRequest).where(HandoffRequest.ticket_id.in_(still_due))
                ).rowcount
                counts["ticket_events"] += session.execute(
                    bulk_delete(TicketEvent).where(TicketEvent.ticket_id.in_(still_due))
                ).rowcount
                counts["ticket_notes"] += session.execute(
                    bulk_delete(TicketNote).where(TicketNote.ticket_id.in_(still_due))
                ).rowcount
                counts["tickets"] += session.execute(
                    bulk_delete(Ticket).where(Ticket.id.in_(chunk), Ticket.status == CLOSED, Ticket.closed_at < cutoff)
                ).rowcount

    def _small_tables(self, now: datetime, counts: Dict[str, int]) -> None:
        tracker_cutoff = now - timedelta(days=self.settings.retention_tracker_days)
        # Never shorter than the window in which failed look-ups count (issue 12, finding 1).
        lookup_minutes = max(
            self.settings.retention_status_lookup_days * 24 * 60,
            int(getattr(self.settings, "status_lock_window_minutes", 0) or 0),
        )
        with self.db.transaction() as session:
            counts["handoff_requests"] += session.execute(
                bulk_delete(HandoffRequest).where(
                    HandoffRequest.ticket_id.is_(None),
                    HandoffRequest.status.not_in(ACTIVE_HANDOFF_STATUSES),
                    func.coalesce(HandoffRequest.ended_at, HandoffRequest.updated_at) < tracker_cutoff,
                )
            ).rowcount
            counts["delivery_failures"] += session.execute(
                bulk_delete(DeliveryFailure).where(DeliveryFailure.at < tracker_cutoff)
            ).rowcount
            counts["status_lookups"] += session.execute(
                bulk_delete(StatusLookup).where(StatusLookup.at < now - timedelta(minutes=lookup_minutes))
            ).rowcount
            counts["desk_sessions"] += session.execute(
                bulk_delete(DeskSession).where(DeskSession.expires_at < now)
            ).rowcount
            counts["wechat_inbox"] += session.execute(
                bulk_delete(WeChatInboxMessage).where(
                    WeChatInboxMessage.received_at < now - timedelta(days=self.settings.retention_wechat_inbox_days)
                )
            ).rowcount
            # A mark names its conversation (a WeChat OpenID, say): kept no longer than conversations are.
            counts["nlu_marks"] += session.execute(
                bulk_delete(NluMark).where(NluMark.marked_at < tracker_cutoff)
            ).rowcount

    # -- schedule ----------------------------------------------------------------

    def run_forever(self, every: timedelta, stop: threading.Event) -> None:
        """Purges every `every` until `stop` is set; replicas running this share the work."""
        while not stop.is_set():
            try:
                # A little less than the period: runs of several replicas do not pile up.
                self.run_once(skip_if_ran_within=every * 0.9)
            except Exception:  # noqa: BLE001 (the next period tries again)
                log.exception("retention run failed; retrying in %s", every)
            stop.wait(every.total_seconds())


_DURATION = re.compile(r"\s*(\d{1,6})\s*([smhd])\s*")


def parse_duration(text: str, minimum: timedelta = timedelta(minutes=1)) -> timedelta:
    """'90s', '30m', '1h', '1d' (at least `minimum`, one minute unless told)."""
    match = _DURATION.fullmatch(text or "")
    if not match:
        raise ValueError(f"a period looks like 30m, 1h or 1d, got {text!r}")
    amount, unit = int(match.group(1)), match.group(2)
    period = timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[unit]: amount})
    if period < minimum:
        least = "one minute" if minimum == timedelta(minutes=1) else f"{int(minimum.total_seconds())}s"
        raise ValueError(f"the period must be at least {least}")
    return period
