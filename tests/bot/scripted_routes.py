"""A notice route test double for the sender's unit tests.

The sender's real routes reach Rasa (chat; tested against a real Rasa in tests/e2e), WeChat's and Alibaba
Cloud's servers (which cannot be reached from here). `ScriptedRoute` stands in for any of them in process:
it keeps what it delivered like a conversation or a phone would (by idempotency key), raises the failures a
test scripts, and answers AlreadyDelivered for a key it has delivered, as the chat route does (the routes that
cannot are tested with the real WeChat and SMS routes against their fakes).
"""

from __future__ import annotations

from typing import List, Optional

from bot.notice_routes.route import AlreadyDelivered, DeliveryError, OutgoingNotice


class ScriptedRoute:
    def __init__(
        self,
        name: str,
        failures: Optional[List[DeliveryError]] = None,
        unavailable: Optional[str] = None,
        deduplicates: bool = True,
    ):
        self.name = name
        self.deduplicates = deduplicates  # False: stands in for WeChat or SMS (the sender commits in flight first)
        self.failures = list(failures or [])  # raised one per call, before anything is delivered
        self.reason = unavailable
        self.delivered: List[OutgoingNotice] = []  # what the complainant received, in order
        self.calls = 0

    def unavailable(self) -> Optional[str]:
        return self.reason

    async def deliver(self, notice: OutgoingNotice) -> None:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        if any(sent.key == notice.key for sent in self.delivered):
            raise AlreadyDelivered(notice.key)
        self.delivered.append(notice)


def failing(times: int, retryable: bool = True, code: str = "timeout") -> List[DeliveryError]:
    return [DeliveryError(code, "服务暂时不可用", retryable=retryable) for _ in range(times)]
