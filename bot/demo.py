"""Demo data: realistic synthetic complaints so that a new installation shows a populated analysis.

Demo tickets are marked by their submission key (`demo:`) and numbered DM…; seeding again replaces them.
A database holding any other ticket is refused unless forced: demo figures must never mix with real ones
by accident. Rows are written in bulk (executemany per chunk; events and ratings by INSERT … SELECT).
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, insert, literal, select
from sqlalchemy.orm import Session

from bot.db import Database
from bot.models import MaliciousMark, Rating, Ticket, TicketEvent, TypicalCase
from bot.regions import RegionMap
from bot.settings import Settings
from bot.taxonomy import Taxonomy

DEMO_KEY = "demo:"
DEMO_ACTOR = "demo"
MAX_TICKETS = 2_000_000
MAX_MONTHS = 60
CHUNK = 5000
Progress = Callable[[int, int], None]

# Shares loosely after seed 003 and NFRA's published statistics (domain-facts §3.1).
CATEGORY_WEIGHTS = {
    "claims": 35,
    "policy_service": 22,
    "sales": 20,
    "surrender": 12,
    "underwriting": 6,
    "counter_service": 4,
    "other": 1,
}
# Seed 003's 理赔 reasons: result 68 %, timeliness 17 %, process 10 %, other 5 %.
SUB_REASON_WEIGHTS = {
    "claims": {"claim_result": 66, "claim_timeliness": 17, "claim_process": 10, "claim_attitude": 3, "other": 4}
}
CHANNEL_WEIGHTS = {"rest": 40, "wechat": 35, "desk": 25}
# 3.15 brings more complaints in March; January and December are busy too (seed 003).
MONTH_WEIGHTS = {1: 1.2, 3: 1.6, 12: 1.2}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英")
# Mobile prefixes spread over many provinces (phonenumbers' offline data gives each range its province).
MOBILE_PREFIXES = ("1390", "1380", "1350", "1360", "1370", "1500", "1510", "1580", "1860", "1890", "1330", "1770")
OPEN_STATUSES = ("accepted", "investigating", "processing", "feedback", "follow_up")
RATINGS = (("satisfied", 55), ("basically_satisfied", 30), ("dissatisfied", 15))
TYPICAL_PER_CATEGORY = 2  # the latest closed demo complaints of each category become typical cases
DEMO_MALICIOUS = 3
# Supervisors' texts of the demo's typical cases and malicious marks (desk content, never a policyholder's).
DEMO_CASE = (
    "（演示）客户来电反映该事项处理不及时、解释不清，要求尽快给出明确答复。",
    "（演示）经核实，相关环节未按时效要求办理，且与客户沟通不充分，属业管可控问题。",
    "（演示）严格执行办理时效，关键节点主动告知客户进度，并在结案时说明依据。",
)
DEMO_MALICIOUS_REASON = "（演示）同一事项已多次答复并有书面结论，仍反复投诉并以曝光相威胁索要额外补偿。"
CLOSING_FIELDS = (
    "closed_at",
    "outcome",
    "root_cause_controllable",
    "root_cause_category",
    "improvement_action",
    "follow_up_reached",
    "satisfaction",
    "satisfaction_at",
)


def _previous_complaints(plan: List[Tuple[datetime, str]]) -> List[Optional[datetime]]:
    """For each planned complaint, when the same phone complained before it (ties: the earlier row, as ids go)."""
    previous: List[Optional[datetime]] = [None] * len(plan)
    order = sorted(range(len(plan)), key=lambda index: (plan[index][1], plan[index][0], index))
    for before, index in zip(order, order[1:]):
        if plan[before][1] == plan[index][1]:
            previous[index] = plan[before][0]
    return previous


class DemoRefused(RuntimeError):
    """The database holds real tickets; the message says how to go on."""


@dataclass(frozen=True)
class SeedResult:
    tickets: int
    replaced: int  # earlier demo tickets removed
    first_day: date
    last_day: date


def _pick(rng: random.Random, weights: Mapping[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class DemoSeeder:
    def __init__(
        self, db: Database, settings: Settings, seed: Optional[int] = None, now: Optional[datetime] = None
    ) -> None:
        self.db = db
        self.settings = settings
        self.zone = ZoneInfo(settings.timezone)
        self.taxonomy = Taxonomy.load(settings.taxonomy_file)
        self.regions = RegionMap.load(settings.branches_file)
        self.rng = random.Random(seed)
        self.now = now or datetime.now(timezone.utc)
        self._ranges: Dict[str, str] = {}  # region of each mobile number range seen

    def real_tickets(self) -> int:
        with self.db.transaction() as session:
            found = session.execute(
                select(func.count(Ticket.id)).where(Ticket.submission_key.notlike(f"{DEMO_KEY}%"))
            ).scalar_one()
        return int(found)

    def seed(self, tickets: int, months: int, force: bool = False, progress: Optional[Progress] = None) -> SeedResult:
        if not 1 <= tickets <= MAX_TICKETS:
            raise ValueError(f"工单数须在1到{MAX_TICKETS}之间")
        if not 1 <= months <= MAX_MONTHS:
            raise ValueError(f"月数须在1到{MAX_MONTHS}之间")
        real = self.real_tickets()
        if real and not force:
            raise DemoRefused(f"数据库中已有{real}张真实工单，演示数据会与之混在一起；确需写入请加 --force")
        today = self.now.astimezone(self.zone).date()
        first = today - timedelta(days=round(months * 30.44))
        days = self._day_weights(first, today)
        phones: List[str] = []
        # Who complains when, first: each complaint's previous one from the same phone is known before the
        # rows are written (a bulk UPDATE afterwards would rewrite every row).
        plan = [(self._received(days), self._phone(phones)) for _ in range(tickets)]
        previous = _previous_complaints(plan)
        with self.db.transaction() as session:
            replaced = self._remove_earlier(session)
            for start in range(0, tickets, CHUNK):
                count = min(CHUNK, tickets - start)
                rows = [
                    self._ticket(index, plan[index], previous[index], today) for index in range(start, start + count)
                ]
                session.execute(insert(Ticket.__table__), rows)
                if progress:
                    progress(start + count, tickets)
            self._events_and_ratings(session)
            self._review_marks(session)
        return SeedResult(tickets, replaced, first, today)

    # -- the pieces -------------------------------------------------------------

    def _day_weights(self, first: date, last: date) -> Tuple[List[date], List[float]]:
        found = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
        # Fewer complaints at weekends; seasonal months as MONTH_WEIGHTS. Cumulative: one bisection per pick.
        weights = [MONTH_WEIGHTS.get(day.month, 1.0) * (0.6 if day.weekday() >= 5 else 1.0) for day in found]
        return found, list(itertools.accumulate(weights))

    def _remove_earlier(self, session: Session) -> int:
        demo = select(Ticket.id).where(Ticket.submission_key.like(f"{DEMO_KEY}%"))
        count = int(session.execute(select(func.count()).select_from(demo.subquery())).scalar_one())
        # Plain SQL deletes: nothing of these rows is loaded in the session to keep in step.
        unsynchronised = {"synchronize_session": False}
        for table in (TypicalCase, MaliciousMark):
            session.execute(delete(table).where(table.ticket_id.in_(demo)), execution_options=unsynchronised)
        session.execute(delete(Rating).where(Rating.ticket_id.in_(demo)), execution_options=unsynchronised)
        session.execute(delete(TicketEvent).where(TicketEvent.ticket_id.in_(demo)), execution_options=unsynchronised)
        session.execute(
            delete(Ticket).where(Ticket.submission_key.like(f"{DEMO_KEY}%")), execution_options=unsynchronised
        )
        return count

    def _region(self, policy: Optional[str], phone: str) -> str:
        """RegionMap.region_for, with the phone's part looked up once per number range (its first 7 digits)."""
        branch = self.regions.policy_branch(policy)
        if branch:
            return branch
        if phone[:7] not in self._ranges:
            self._ranges[phone[:7]] = self.regions.phone_region(phone)
        return self._ranges[phone[:7]]

    def _phone(self, phones: List[str]) -> str:
        if phones and self.rng.random() < 0.06:  # a complainant complaining again
            return self.rng.choice(phones[-500:])
        phone = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10_000_000):07d}"
        phones.append(phone)
        return phone

    def _policy(self) -> Optional[str]:
        roll = self.rng.random()
        if roll < 0.15:
            return None  # the complainant did not give one
        prefixes: Sequence[str] = tuple(self.regions.policy_prefixes) or ("PL",)
        prefix = self.rng.choice(prefixes) if roll < 0.75 else "PL"  # PL: no branch listed, the phone decides
        return f"{prefix}{self.rng.randrange(10**11, 10**12)}"

    def _sub_reason(self, category: str) -> Optional[str]:
        if self.rng.random() < 0.05:
            return None  # not yet classified
        weights = SUB_REASON_WEIGHTS.get(category)
        if weights:
            return _pick(self.rng, weights)
        reasons = list(self.taxonomy.categories[category].sub_reasons)
        # The first listed reasons are the usual ones.
        return self.rng.choices(reasons, weights=[len(reasons) - index for index in range(len(reasons))])[0]

    def _received(self, days: Tuple[List[date], List[float]]) -> datetime:
        day = self.rng.choices(days[0], cum_weights=days[1])[0]
        moment = datetime.combine(day, time(8), self.zone) + timedelta(minutes=self.rng.randrange(14 * 60))
        latest = self.now - timedelta(minutes=1)
        return min(moment.astimezone(timezone.utc), latest)

    def _ticket(
        self, index: int, planned: Tuple[datetime, str], previous: Optional[datetime], today: date
    ) -> Dict[str, Any]:
        rng = self.rng
        received, phone = planned
        local_day = received.astimezone(self.zone).date()
        category = _pick(rng, CATEGORY_WEIGHTS)
        sub_reason = self._sub_reason(category)
        policy = self._policy()
        age = (today - local_day).days
        extension = rng.choice((15, 30)) if rng.random() < 0.1 else 0
        deadline = local_day + timedelta(days=self.settings.handling_days + extension)
        row: Dict[str, Any] = {
            "ticket_no": f"DM{local_day:%y%m%d}{index:08d}",
            "submission_key": f"{DEMO_KEY}{index}",
            "kind": "complaint",
            "conversation_id": f"demo-{index}",
            "channel": _pick(rng, CHANNEL_WEIGHTS),
            "status": "accepted",
            "category": category,
            "sub_reason": sub_reason,
            "policy_number": policy,
            "complainant_name": rng.choice(SURNAMES) + rng.choice(GIVEN),
            "phone_number": phone,
            "phone_hash": self.db.crypto.digest(phone),
            "phone_last4": phone[-4:],
            "description": f"演示数据：{self.taxonomy.sub_reason_label(category, sub_reason)}",
            "customer_request": "请尽快处理并给予答复",
            "received_at": received,
            "deadline": deadline,
            "updated_at": received,
            "extension_days": extension,
            "is_complex": extension > 0 and rng.random() < 0.5,
            "region": self._region(policy, phone),
            "previous_complaint_at": previous,
            "priority": 0,
            "due_state": "on_time",
            "reopened_count": 0,
            "version": 1,
            # Every row has every key: one executemany statement serves the whole chunk.
            **dict.fromkeys(CLOSING_FIELDS),
        }
        if rng.random() < min(0.97, age / 20):  # most complaints older than a few weeks are closed
            self._close(row, received, local_day, deadline, extension, category, sub_reason)
        else:
            row["status"] = rng.choice(OPEN_STATUSES)
            row["due_state"] = "overdue" if today > deadline else "on_time"
        return row

    def _close(
        self,
        row: Dict[str, Any],
        received: datetime,
        local_day: date,
        deadline: date,
        extension: int,
        category: str,
        sub_reason: Optional[str],
    ) -> None:
        rng = self.rng
        roll = rng.random()
        if extension and roll < 0.9:
            days = rng.randint(self.settings.handling_days + 1, self.settings.handling_days + extension)
        elif roll < 0.96:
            days = min(self.settings.handling_days, max(0, int(rng.lognormvariate(1.6, 0.7))))
        else:
            days = (deadline - local_day).days + rng.randint(1, 20)  # overdue
        closed = min(received + timedelta(days=days, hours=rng.randint(0, 6)), self.now)
        controllable = rng.random() < 0.3  # seed 003: 业管可控 29 %
        causes = [
            code
            for code, usual in self.taxonomy.root_causes.usually_controllable.items()
            if usual == controllable and code != "other"
        ] or list(self.taxonomy.root_causes.labels)
        row.update(
            status="closed",
            closed_at=closed,
            updated_at=closed,
            outcome=rng.choice(("upheld", "partly_upheld", "not_upheld", "mediated")),
            root_cause_controllable=controllable,
            root_cause_category=rng.choice(causes),
            improvement_action="演示数据：加强培训并优化流程" if controllable else None,
            follow_up_reached=True,
        )
        if rng.random() < 0.7:
            unhappy = 2.5 if category == "claims" and sub_reason in ("claim_result", "claim_timeliness") else 1.0
            weights = [weight * (unhappy if name == "dissatisfied" else 1.0) for name, weight in RATINGS]
            row["satisfaction"] = rng.choices([name for name, _ in RATINGS], weights=weights)[0]
            row["satisfaction_at"] = min(closed + timedelta(days=1), self.now)

    def _review_marks(self, session: Session) -> None:
        """A few typical cases per category and a few malicious marks, as supervisors would have left them."""
        demo = Ticket.submission_key.like(f"{DEMO_KEY}%")
        for category in CATEGORY_WEIGHTS:
            closed = session.execute(
                select(Ticket.id, Ticket.closed_at)
                .where(demo, Ticket.category == category, Ticket.closed_at.isnot(None))
                .order_by(Ticket.closed_at.desc(), Ticket.id)
                .limit(TYPICAL_PER_CATEGORY)
            ).all()
            for ticket_id, closed_at in closed:
                situation, analysis, lessons = DEMO_CASE
                session.add(
                    TypicalCase(
                        ticket_id=ticket_id,
                        situation=situation,
                        analysis=analysis,
                        lessons=lessons,
                        marked_by=DEMO_ACTOR,
                        marked_at=closed_at,
                    )
                )
        marked = session.execute(
            select(Ticket.id, Ticket.received_at)
            .where(demo, Ticket.previous_complaint_at.isnot(None))
            .order_by(Ticket.received_at.desc(), Ticket.id)
            .limit(DEMO_MALICIOUS)
        ).all()
        for ticket_id, received in marked:
            session.add(
                MaliciousMark(
                    ticket_id=ticket_id, reason=DEMO_MALICIOUS_REASON, marked_by=DEMO_ACTOR, marked_at=received
                )
            )

    def _events_and_ratings(self, session: Session) -> None:
        demo = Ticket.submission_key.like(f"{DEMO_KEY}%")
        columns = ["ticket_id", "at", "actor", "field", "old_value", "new_value"]
        session.execute(
            insert(TicketEvent).from_select(
                columns,
                select(
                    Ticket.id,
                    Ticket.received_at,
                    literal(DEMO_ACTOR),
                    literal("status"),
                    literal(None),
                    literal("accepted"),
                ).where(demo),
            )
        )
        session.execute(
            insert(TicketEvent).from_select(
                columns,
                select(
                    Ticket.id,
                    Ticket.closed_at,
                    literal(DEMO_ACTOR),
                    literal("status"),
                    literal("follow_up"),
                    literal("closed"),
                ).where(demo, Ticket.closed_at.isnot(None)),
            )
        )
        session.execute(
            insert(Rating).from_select(
                ["ticket_id", "conversation_id", "rating", "at"],
                select(Ticket.id, Ticket.conversation_id, Ticket.satisfaction, Ticket.satisfaction_at).where(
                    demo, Ticket.satisfaction.isnot(None)
                ),
            )
        )
