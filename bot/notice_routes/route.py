"""What every notice route takes and how it reports a failure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Protocol


@dataclass(frozen=True)
class OutgoingNotice:
    """A notice as a route needs it: the rendered text, the template fields, where the complainant came from."""

    key: str  # the notice's idempotency key: a route never delivers one key twice
    kind: str  # acknowledgement | extension | pause | result | callback | follow_up
    ticket_no: str
    conversation_id: str
    channel: str  # the ticket's input channel (socketio/web, rest, wechat, …)
    text: str
    # Short values for fixed-format templates (WeChat template message, SMS): ticket_no, kind_label, deadline…
    fields: Mapping[str, str] = field(default_factory=dict)
    phone: Optional[str] = None  # decrypted; only the SMS route reads it
    asks_rating: bool = False
    notice_id: Optional[int] = None  # the outbox row; an SMS link names it (bot/notice_links.py)


class DeliveryError(Exception):
    """The route could not deliver; `retryable` says whether trying again later may help, `uncertain` that the
    service may have accepted the notice all the same (a timeout after sending, part of a long notice sent)."""

    def __init__(self, code: str, message: str, retryable: bool = True, uncertain: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.uncertain = uncertain


class AlreadyDelivered(Exception):
    """The route had delivered this notice before (a crash came between sending and recording it)."""


class Route(Protocol):
    name: str  # chat | wechat | wechat_template | sms: recorded on each attempt
    # Whether the route can tell that it delivered a notice before (and raises AlreadyDelivered): only then
    # may the sender call it again after a crash; for any other route it records the call as in flight first.
    deduplicates: bool

    def unavailable(self) -> Optional[str]:
        """Why this route cannot be used here (e.g. "未配置短信服务"), or None."""

    async def deliver(self, notice: OutgoingNotice) -> None:
        """Sends once; raises AlreadyDelivered or DeliveryError."""
