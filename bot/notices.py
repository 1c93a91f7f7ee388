"""Notices to the complainant (Art. 18/19): rendered from knowledge/notice_templates.yml and queued in the
outbox (the `notices` table) in the transaction of the ticket change that causes them.

The notice sender (bot/notice_sender.py) delivers what is queued, at least once, on the complainant's own
channel. Each notice has a deterministic idempotency key (its kind, the ticket and the ticket's version at
the change), so replaying a change never queues a second notice and a route never delivers one key twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Notice, Ticket
from bot.privacy import mask_phone
from bot.replies import desk_ticket_created
from bot.settings import PROJECT_ROOT, Settings
from bot.step_content import OUTCOME_LABELS

KINDS = ("acknowledgement", "extension", "pause", "result", "callback", "follow_up")
MAX_SUMMARY = 20
DEFAULT_FILE = PROJECT_ROOT / "knowledge" / "notice_templates.yml"
# How the ticket page names a notice's state, its routes and how each attempt ended.
NOTICE_STATUS_LABELS = {
    "pending": "待发送",
    "sent": "已送达",
    "failed": "发送失败",
    "uncertain": "送达状态不明（请核实投诉人是否已收到）",
    "cancelled": "已取消（个人信息已删除）",
}
ATTEMPT_OUTCOME_LABELS = {
    "sent": "已送达",
    "failed": "失败",
    "duplicate": "此前已送达",
    "unavailable": "不可用",
    "in_flight": "发送中",
    "uncertain": "送达状态不明",
}
ROUTE_LABELS = {"chat": "对话消息", "wechat": "微信消息", "wechat_template": "微信模板消息", "sms": "短信"}


class NoticeTemplateError(ValueError):
    """The template file misses a kind or a text."""


@dataclass(frozen=True)
class KindTemplate:
    label: str
    summary: str
    text: Optional[str]  # None: acknowledgement, the bot's own confirmation (bot/replies.py)


@dataclass(frozen=True)
class NoticeTemplates:
    version: str
    reviewed_by: str
    reviewed_on: str
    kinds: Mapping[str, KindTemplate]


def parse(raw: Any) -> NoticeTemplates:
    if not isinstance(raw, dict):
        raise NoticeTemplateError("notice templates: not a mapping")
    kinds_raw = raw.get("kinds") or {}
    kinds: Dict[str, KindTemplate] = {}
    for kind in KINDS:
        item = kinds_raw.get(kind)
        if not isinstance(item, dict) or not item.get("label") or not item.get("summary"):
            raise NoticeTemplateError(f"notice templates: kind {kind!r} needs a label and a summary")
        text = item.get("text")
        if kind != "acknowledgement" and not text:
            raise NoticeTemplateError(f"notice templates: kind {kind!r} needs a text")
        kinds[kind] = KindTemplate(str(item["label"]), str(item["summary"]), str(text) if text else None)
    return NoticeTemplates(
        version=str(raw.get("version") or ""),
        reviewed_by=str(raw.get("reviewed_by") or ""),
        reviewed_on=str(raw.get("reviewed_on") or ""),
        kinds=kinds,
    )


@lru_cache(maxsize=4)
def load_templates(path: Path = DEFAULT_FILE) -> NoticeTemplates:
    """The reviewed templates, read once per file."""
    with open(path, encoding="utf-8") as handle:
        return parse(yaml.safe_load(handle))


def _chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


class NoticeTexts:
    """Renders notices for one configuration: the templates file, the contact promise, the handling days."""

    def __init__(self, settings: Settings, templates: Optional[NoticeTemplates] = None) -> None:
        self.settings = settings
        self.templates = templates or load_templates(settings.notice_templates_file)

    def label(self, kind: str) -> str:
        template = self.templates.kinds.get(kind)
        return template.label if template else kind

    def values(self, ticket: Ticket, detail: Optional[str] = None) -> Dict[str, str]:
        """What the templates may name, from the ticket (the phone masked)."""
        deadline: date = ticket.deadline
        return {
            "ticket_no": ticket.ticket_no,
            "deadline": _chinese_date(deadline) if deadline else "",
            "deadline_short": f"{deadline.month}月{deadline.day}日" if deadline else "",
            "handling_days": str(self.settings.handling_days),
            "phone_masked": mask_phone(ticket.phone_number or ""),
            "contact_promise": self.settings.contact_promise,
            "detail": detail or "",
            "findings": ticket.findings or "",
            "decision": ticket.decision or "",
            "decision_basis": ticket.decision_basis or "",
            "outcome_label": OUTCOME_LABELS.get(ticket.outcome or "", ""),
            "result_notice": ticket.result_notice or "",
        }

    def render(self, ticket: Ticket, kind: str, detail: Optional[str] = None) -> str:
        """The notice's text, as the complainant reads it."""
        template = self.templates.kinds[kind]
        values = self.values(ticket, detail)
        if template.text is None:  # the acknowledgement: the bot's own confirmation, not a second wording
            return desk_ticket_created(
                ticket.ticket_no,
                ticket.deadline,
                self.settings.handling_days,
                self.settings.contact_promise,
                values["phone_masked"],
            )
        return template.text.format_map(values)

    def fields(self, ticket: Ticket, kind: str, detail: Optional[str] = None) -> Dict[str, str]:
        """Short values for fixed-format templates (WeChat template message, SMS)."""
        values = self.values(ticket, detail)
        summary = self.templates.kinds[kind].summary.format_map(values)
        return {
            "ticket_no": ticket.ticket_no,
            "kind_label": self.label(kind),
            "deadline": values["deadline"],
            "summary": summary[:MAX_SUMMARY],
        }


def notice_key(ticket: Ticket, kind: str) -> str:
    """One notice per cause: the acknowledgement once per ticket, the others once per change of the ticket."""
    if kind == "acknowledgement":
        return f"acknowledgement:{ticket.id}"
    return f"{kind}:{ticket.id}:v{ticket.version}"


def queue_notice(
    session: Session,
    ticket: Ticket,
    kind: str,
    now: datetime,
    detail: Optional[str] = None,
    asks_rating: bool = False,
    texts: Optional[NoticeTexts] = None,
) -> Notice:
    """Writes a notice in the caller's transaction, due now; with `texts` its body is rendered now (the text
    as it stands at the change), otherwise the sender renders it when it sends."""
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    notice = Notice(
        ticket_id=ticket.id,
        kind=kind,
        idempotency_key=notice_key(ticket, kind),
        detail=detail,
        body=texts.render(ticket, kind, detail) if texts is not None else None,
        asks_rating=asks_rating,
        status="pending",
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )
    session.add(notice)
    return notice


def notice_by_key(session: Session, key: str) -> Optional[Notice]:
    """The notice with this idempotency key (a rating answers the notice named by the slot rating_notice)."""
    return session.execute(select(Notice).where(Notice.idempotency_key == key)).scalar_one_or_none()


def latest_sent_notice(session: Session, ticket_id: int) -> Optional[Notice]:
    """The newest notice the complainant was sent about a ticket (the status read-out), or None."""
    return (
        session.execute(
            select(Notice)
            .where(Notice.ticket_id == ticket_id, Notice.status == "sent")
            .order_by(Notice.sent_at.desc(), Notice.id.desc())
            .limit(1)
        )
        .scalars()
        .first()
    )
