"""The analysis' ticket list as CSV: phones and ID numbers masked unless a supervisor asks otherwise; every
export is recorded (data_exports), the unmasked ones so that they can be audited."""

from __future__ import annotations

import csv
import io
from typing import Any, List, Mapping, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot.analysis.periods import PeriodError
from bot.analysis.scope import Scope
from bot.clock import Clock, utc_now
from bot.db import Database
from bot.models import DataExport, Ticket
from bot.privacy import mask_phone, mask_text
from bot.regions import UNKNOWN
from bot.taxonomy import Taxonomy
from bot.tickets import TicketStatus

KIND = "tickets_csv"
HEAD = (
    "工单号",
    "受理时间",
    "渠道",
    "投诉类别",
    "细分原因",
    "地区",
    "处理状态",
    "结案时间",
    "投诉人",
    "手机号",
    "保单号",
    "投诉事项",
    "诉求",
    "业管可控",
    "根本原因",
    "满意度",
)
SATISFACTION = {"satisfied": "满意", "basically_satisfied": "基本满意", "dissatisfied": "不满意"}
STATUS = {status.value: status.label for status in TicketStatus}
# A cell a spreadsheet would run as a formula is written as text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
BATCH = 2000


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _controllable(value: Optional[bool]) -> str:
    return "" if value is None else ("可控" if value else "不可控")


class TicketExport:
    def __init__(
        self,
        db: Database,
        taxonomy: Taxonomy,
        zone: ZoneInfo,
        channel_labels: Mapping[str, str],
        max_rows: int,
        clock: Clock = utc_now,
    ) -> None:
        self.db = db
        self.taxonomy = taxonomy
        self.zone = zone
        self.channel_labels = channel_labels
        self.max_rows = max_rows
        self.clock = clock

    def csv(self, scope: Scope, actor: str, unmasked: bool, described: str, reason: Optional[str] = None) -> bytes:
        """The complaints of the scope, oldest first, as UTF-8 CSV with a byte order mark (Excel reads it);
        `reason`: why the numbers are needed unmasked, kept with the audit row."""
        condition = scope.conditions(self.zone)
        output = io.StringIO()
        output.write("\ufeff")
        writer = csv.writer(output)
        writer.writerow(HEAD)
        with self.db.transaction() as session:
            count = int(session.execute(select(func.count()).select_from(Ticket).where(condition)).scalar() or 0)
            if count > self.max_rows:
                raise PeriodError(f"共{count}条，超过单次导出上限{self.max_rows}条，请缩小统计区间或增加筛选条件")
            rows = session.execute(
                select(Ticket)
                .where(condition)
                .order_by(Ticket.received_at, Ticket.id)
                .execution_options(yield_per=BATCH)
            ).scalars()
            for ticket in rows:
                writer.writerow([_cell(value) for value in self._row(ticket, unmasked)])
            session.add(
                DataExport(
                    at=self.clock(),
                    actor=actor,
                    kind=KIND,
                    unmasked=unmasked,
                    scope=described,
                    rows=count,
                    reason=reason,
                )
            )
        return output.getvalue().encode("utf-8")

    def _row(self, ticket: Ticket, unmasked: bool) -> List[Any]:
        phone = ticket.phone_number or ""
        shown = (lambda text: text or "") if unmasked else (lambda text: mask_text(text or ""))
        return [
            ticket.ticket_no,
            self._local(ticket.received_at),
            self.channel_labels.get(ticket.channel, ticket.channel),
            self.taxonomy.category_label(ticket.category),
            self.taxonomy.sub_reason_label(
                ticket.category, self.taxonomy.sub_reason_code(ticket.category, ticket.sub_reason) or None
            ),
            ticket.region or UNKNOWN,
            STATUS.get(ticket.status, ticket.status),
            self._local(ticket.closed_at),
            ticket.complainant_name,
            phone if unmasked else mask_phone(phone),
            shown(ticket.policy_number),
            shown(ticket.description),
            shown(ticket.customer_request),
            _controllable(ticket.root_cause_controllable),
            self.taxonomy.root_cause_label(ticket.root_cause_category) if ticket.root_cause_category else "",
            SATISFACTION.get(ticket.satisfaction or "", ""),
        ]

    def _local(self, moment: Any) -> str:
        if moment is None:
            return ""
        if moment.tzinfo is None:  # SQLite gives UTC back without its zone
            moment = moment.replace(tzinfo=ZoneInfo("UTC"))
        return str(moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M"))
