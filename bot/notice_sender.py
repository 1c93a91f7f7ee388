"""The notice sender (`python -m bot notices send`): delivers the outbox's due notices, at least once.

One pass takes the due notices (pending, next_attempt_at reached) and claims each
by an UPDATE that moves its next_attempt_at NOTICE_CLAIM_SECONDS on, on the
condition that it is still due: of several senders (replicas, a desk and a
job runner) exactly one claims it, on PostgreSQL (the losing UPDATE waits for the
row and then finds it no longer due) as on SQLite (writes are serialised). A
sender that dies after claiming leaves the notice to the next pass after the
claim runs out. The chat route can tell that it delivered a key before
(AlreadyDelivered), so that retry is recorded as `duplicate` and the complainant
hears the notice once. The other routes (WeChat, SMS) cannot: before calling one,
the sender commits its attempt as `in_flight`. An attempt found still in flight
by a later pass (its sender died, or its claim ran out mid-call), or a call that
ended in a timeout after the request went out, is `uncertain`: that route is
never called again for the notice, and the sender moves on to the next route of
the chain (another channel). With none left the notice is settled `uncertain`
(送达状态不明) with a supervisor alert, for a person to check with the complainant.

The route follows the channel the complainant came in by (`route_for`): web chat
and REST → chat, WeChat → wechat, anything else (the desk, the phone) → sms. A
route that is missing or says it is unavailable is recorded as `unavailable`
(with its reason) and skipped; a failure is retried with exponential backoff
(NOTICE_RETRY_SECONDS doubling, at most NOTICE_RETRY_MAX_SECONDS); after
NOTICE_MAX_ATTEMPTS failures on a route, or a failure that retrying cannot help,
the sender falls back to sms. When no route is left the notice is marked failed
(or uncertain, above) and a supervisor alert raised. Every try is a NoticeAttempt, shown on the ticket page.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Dict, List, Mapping, NamedTuple, Optional, Set, Tuple

from sqlalchemy import or_, select, update

from bot.alerts import raise_alert
from bot.clock import Clock, utc_now
from bot.db import Database
from bot.models import Notice, NoticeAttempt, Ticket
from bot.notice_routes.chat import CHAT_CHANNELS, CONVERSATION_CHANNELS, ChatRoute
from bot.notice_routes.route import AlreadyDelivered, DeliveryError, OutgoingNotice, Route
from bot.notice_routes.sms import SmsRoute
from bot.notice_routes.wechat import wechat_routes
from bot.notices import NoticeTexts
from bot.settings import Settings

log = logging.getLogger(__name__)

BATCH = 50
FALLBACK = "sms"
# Why a route that is not configured cannot be used (shown on the ticket page).
NOT_CONFIGURED = {
    "sms": "未配置短信服务",
    "wechat": "未配置微信公众号消息",
    "wechat_template": "未配置微信模板消息",
    "chat": "未配置对话消息",
}


def chain_for(channel: Optional[str]) -> List[str]:
    """The routes tried, in order, for a complainant who came in through `channel`: their own channel, then SMS.
    WeChat: 客服消息 while the 48-hour window is open (the route refuses with a final error otherwise),
    then a template message."""
    if channel in CHAT_CHANNELS:
        return ["chat", FALLBACK]
    if channel == "wechat":
        return ["wechat", "wechat_template", FALLBACK]
    return [FALLBACK]


def route_for(channel: Optional[str]) -> str:
    """The route that reaches a complainant who came in through `channel`."""
    return chain_for(channel)[0]


def routes(settings: Settings, db: Database) -> Dict[str, Route]:
    """Every route; one this deployment cannot use says why (e.g. SMS without keys: "未配置短信服务")."""
    wechat, wechat_template = wechat_routes(settings, db)
    available: List[Route] = [ChatRoute(settings), wechat, wechat_template, SmsRoute(settings)]
    return {route.name: route for route in available}


def unavailable_reason(available: Mapping[str, Route], name: str) -> Optional[str]:
    """Why route `name` cannot be used now, or None (e.g. SMS without keys: "未配置短信服务")."""
    route = available.get(name)
    return NOT_CONFIGURED.get(name, "未配置") if route is None else route.unavailable()


def links_missing(available: Mapping[str, Route]) -> Dict[str, str]:
    """The routes whose messages cannot link to the chat page, and why (e.g. a WeChat template message)."""
    missing = {}
    for name, route in available.items():
        without_link = getattr(route, "without_link", None)
        reason = without_link() if without_link is not None else None
        if reason:
            missing[name] = reason
    return missing


def backoff(settings: Settings, failures: int) -> timedelta:
    """The wait after the `failures`-th failure on a route: NOTICE_RETRY_SECONDS × 2^(failures-1), capped."""
    seconds = settings.notice_retry_seconds * 2 ** max(failures - 1, 0)
    return timedelta(seconds=min(seconds, settings.notice_retry_max_seconds))


@dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    duplicates: int = 0
    retrying: int = 0
    failed: int = 0
    uncertain: int = 0


class _Attempt(NamedTuple):
    route: str
    outcome: str  # sent | failed | duplicate | unavailable | uncertain
    code: Optional[str] = None
    detail: Optional[str] = None
    row_id: Optional[int] = None  # the attempt committed in flight before the call, completed when recorded


@dataclass
class _Tried:
    """What one pass did with one notice, recorded in one transaction afterwards."""

    attempts: List[_Attempt] = field(default_factory=list)
    delivered_by: Optional[str] = None
    retry_after: Optional[timedelta] = None
    last_error: Optional[str] = None
    tries: int = 0
    uncertain: bool = False  # a route may have delivered it: settled `uncertain`, not `failed`, if nothing else does


# Why a route is not called again for a notice (the ticket page shows it on the attempt).
INTERRUPTED = "发送过程中断（发送进程退出或超时），无法确认投诉人是否已收到；为免重复发送，不再经此渠道发送"
UNCERTAIN_AFTER_CALL = "无法确认投诉人是否已收到；为免重复发送，不再经此渠道发送"


class NoticeSender:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        available: Mapping[str, Route],
        clock: Clock = utc_now,
        batch: int = BATCH,
    ) -> None:
        self.db = db
        self.settings = settings
        self.routes = available
        self.clock = clock
        self.batch = batch
        self.texts = NoticeTexts(settings)
        for name, reason in links_missing(available).items():
            log.warning("notice route %s: %s", name, reason)

    # -- one pass ----------------------------------------------------------------

    async def run_once(self) -> SendReport:
        """Delivers (or retries, or gives up on) each due notice once."""
        report = SendReport()
        now = self.clock()
        with self.db.transaction() as session:
            due = list(
                session.execute(
                    select(Notice.id)
                    .where(
                        Notice.status == "pending", or_(Notice.next_attempt_at.is_(None), Notice.next_attempt_at <= now)
                    )
                    .order_by(Notice.next_attempt_at, Notice.id)
                    .limit(self.batch)
                ).scalars()
            )
        for notice_id in due:
            # Claimed when its turn comes (not at the start of the pass), so a slow batch keeps its claims.
            if not self.claim(notice_id, self.clock()):
                continue  # another sender has it
            report.claimed += 1
            outgoing, previous = self._outgoing(notice_id)
            if outgoing is None:
                continue
            tried = await self._try(notice_id, outgoing, previous)
            self._record(notice_id, outgoing, tried, report)
        if report.claimed:
            log.info("notices: %s", report)
        return report

    def claim(self, notice_id: int, now: datetime) -> bool:
        """Takes a due notice for this sender: hidden from the others for NOTICE_CLAIM_SECONDS."""
        with self.db.transaction() as session:
            claimed = session.execute(
                update(Notice)
                .where(
                    Notice.id == notice_id,
                    Notice.status == "pending",
                    or_(Notice.next_attempt_at.is_(None), Notice.next_attempt_at <= now),
                )
                .values(next_attempt_at=now + timedelta(seconds=self.settings.notice_claim_seconds))
                .execution_options(synchronize_session=False)
            )
            return bool(claimed.rowcount == 1)

    def _outgoing(self, notice_id: int) -> Tuple[Optional[OutgoingNotice], List[Tuple[str, str]]]:
        """The claimed notice as the routes need it, and its earlier attempts; an attempt still in flight is
        settled `uncertain` here (the claim of the sender that made it has run out: it cannot record it)."""
        with self.db.transaction() as session:
            found = session.execute(
                select(Notice, Ticket).join(Ticket, Ticket.id == Notice.ticket_id).where(Notice.id == notice_id)
            ).one_or_none()
            if found is None:
                return None, []
            notice, ticket = found
            interrupted = session.execute(
                update(NoticeAttempt)
                .where(NoticeAttempt.notice_id == notice_id, NoticeAttempt.outcome == "in_flight")
                .values(outcome="uncertain", code="interrupted", detail=INTERRUPTED)
                .execution_options(synchronize_session=False)
            )
            if interrupted.rowcount:
                log.warning("notice %s: a delivery was interrupted; its route is not used again", notice_id)
            previous = [
                (route, outcome)
                for route, outcome in session.execute(
                    select(NoticeAttempt.route, NoticeAttempt.outcome)
                    .where(NoticeAttempt.notice_id == notice_id)
                    .order_by(NoticeAttempt.id)
                ).all()
            ]
            outgoing = OutgoingNotice(
                key=notice.idempotency_key,
                kind=notice.kind,
                ticket_no=ticket.ticket_no,
                conversation_id=ticket.conversation_id or "",
                channel=ticket.channel or "",
                # Notices queued without a body (migrated owed notices) are rendered now.
                text=notice.body or self.texts.render(ticket, notice.kind, notice.detail),
                fields=self.texts.fields(ticket, notice.kind, notice.detail),
                phone=ticket.phone_number,  # decrypted by the model; only the SMS route reads it
                asks_rating=bool(notice.asks_rating),
                notice_id=notice.id,
            )
            return outgoing, previous

    def _begin(self, notice_id: int, route: str) -> int:
        """Commits an attempt in flight before calling a route that cannot deduplicate: if this sender dies
        before recording the outcome, the next pass finds it and does not call that route again."""
        with self.db.transaction() as session:
            attempt = NoticeAttempt(notice_id=notice_id, route=route, at=self.clock(), outcome="in_flight")
            session.add(attempt)
            session.flush()
            return int(attempt.id)

    async def _try(self, notice_id: int, notice: OutgoingNotice, previous: List[Tuple[str, str]]) -> _Tried:
        """The primary route, then sms; each route until it succeeds, fails for good or has no tries left."""
        tried = _Tried()
        failures = Counter(route for route, outcome in previous if outcome == "failed")
        known_unavailable = {route for route, outcome in previous if outcome == "unavailable"}
        uncertain: Set[str] = {route for route, outcome in previous if outcome == "uncertain"}
        tried.uncertain = bool(uncertain)
        chain = chain_for(notice.channel)
        limit = self.settings.notice_max_attempts
        for name in chain:
            reason = unavailable_reason(self.routes, name)
            if reason:
                if name not in known_unavailable:  # once per notice and route, not on every retry
                    tried.attempts.append(_Attempt(name, "unavailable", "unavailable", reason))
                tried.last_error = f"{name}: {reason}"
                continue
            if failures[name] >= limit or name in uncertain:
                continue
            route = self.routes[name]
            deduplicates = route.deduplicates
            row_id = None if deduplicates else self._begin(notice_id, name)
            tried.tries += 1
            try:
                await route.deliver(notice)
            except AlreadyDelivered:
                tried.attempts.append(_Attempt(name, "duplicate", None, "此前已送达，未重复发送", row_id))
                tried.delivered_by = name
                return tried
            except DeliveryError as exc:
                error: DeliveryError = exc
            except Exception as exc:  # noqa: BLE001 (a route's bug must not stop the pass; retried as a failure)
                log.exception("notice %s: route %s raised", notice.key, name)
                # It may have raised after sending: only a route that deduplicates is safe to call again.
                error = DeliveryError("error", exc.__class__.__name__, uncertain=not deduplicates)
            else:
                tried.attempts.append(_Attempt(name, "sent", None, None, row_id))
                tried.delivered_by = name
                chat = self.routes.get("chat")
                if name != "chat" and notice.channel in CONVERSATION_CHANNELS and isinstance(chat, ChatRoute):
                    await chat.keep(notice)
                return tried
            tried.last_error = f"{name}: {error.message}"
            if error.uncertain and not deduplicates:
                detail = f"{error.message}；{UNCERTAIN_AFTER_CALL}"
                tried.attempts.append(_Attempt(name, "uncertain", error.code[:64], detail, row_id))
                tried.uncertain = True
                uncertain.add(name)
                continue
            tried.attempts.append(_Attempt(name, "failed", error.code[:64], error.message, row_id))
            failures[name] += 1
            if error.retryable and failures[name] < limit:
                tried.retry_after = backoff(self.settings, failures[name])
                return tried
        return tried

    def _record(self, notice_id: int, outgoing: OutgoingNotice, tried: _Tried, report: SendReport) -> None:
        now = self.clock()
        with self.db.transaction() as session:
            notice = session.get(Notice, notice_id)
            if notice is None:  # erased meanwhile (a data subject request)
                return
            for attempt in tried.attempts:
                row = session.get(NoticeAttempt, attempt.row_id) if attempt.row_id is not None else None
                if row is None:
                    row = NoticeAttempt(notice_id=notice_id, route=attempt.route, at=now)
                    session.add(row)
                row.outcome, row.code, row.detail = attempt.outcome, attempt.code, attempt.detail
            notice.attempts += tried.tries
            notice.body = notice.body or outgoing.text
            if notice.status != "pending":  # settled by another sender after this one's claim ran out
                return
            if tried.delivered_by is not None:
                notice.status, notice.sent_at, notice.sent_via = "sent", now, tried.delivered_by
                notice.next_attempt_at = None
                duplicate = tried.attempts[-1].outcome == "duplicate"
                report.duplicates += duplicate
                report.sent += not duplicate
                return
            notice.last_error = tried.last_error
            if tried.retry_after is not None:
                notice.next_attempt_at = now + tried.retry_after
                report.retrying += 1
                return
            label = self.texts.label(notice.kind)
            if tried.uncertain:  # a route may have delivered it: not sent again, a person checks
                notice.status, alert = "uncertain", "notice_uncertain"
                message = (
                    f"工单 {outgoing.ticket_no} 的“{label}”通知送达状态不明（{tried.last_error or '发送过程中断'}），"
                    "系统不再重发以免重复，请核实投诉人是否已收到，未收到的请电话或书面告知"
                )
                report.uncertain += 1
            else:
                notice.status, alert = "failed", "notice_failed"
                message = (
                    f"工单 {outgoing.ticket_no} 的“{label}”通知未能送达投诉人（{tried.last_error or '无可用渠道'}），"
                    "请电话或书面告知投诉人"
                )
                report.failed += 1
            notice.next_attempt_at = None
            raise_alert(session, alert, notice.ticket_id, message, f"{alert}:{notice_id}", now)
            log.warning(
                "notice %s of ticket %s %s: %s", notice.kind, outgoing.ticket_no, notice.status, tried.last_error
            )

    # -- the job -----------------------------------------------------------------

    async def close(self) -> None:
        """Closes the routes' connections (a route may keep an HTTP session and a token between passes)."""
        for route in {id(route): route for route in self.routes.values()}.values():
            closing = getattr(route, "close", None)
            if closing is not None:
                try:
                    await closing()
                except Exception:  # noqa: BLE001 (closing the others matters more)
                    log.exception("closing notice route %s failed", route.name)

    async def run_once_and_close(self) -> SendReport:
        try:
            return await self.run_once()
        finally:
            await self.close()

    def run_forever(self, every: timedelta, stop: threading.Event) -> None:
        """A pass every `every` until `stop` is set (at once again while a pass fills its batch), in one event
        loop, so that the routes' sessions live across passes."""
        asyncio.run(self._serve(every, stop))

    async def _serve(self, every: timedelta, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    report = await self.run_once()
                except Exception:  # noqa: BLE001 (the next period tries again)
                    log.exception("notice pass failed; retrying in %s", every)
                    report = SendReport()
                if report.claimed < self.batch:
                    await asyncio.to_thread(stop.wait, every.total_seconds())
        finally:
            await self.close()
