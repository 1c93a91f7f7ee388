"""The chat page opened from an SMS notice's link (bot/notice_links.py): the notice and its rating question
in the page's web conversation.

The page sends the link's token once its session is confirmed (`open_notice`). A good token records the
conversation as opened from the link and appends the events the chat route appends when it delivers a
notice (bot/notice_routes/chat.py: the notice, and for a result or follow-up the slot `rating_notice` and
the rating question), under the conversation's lock as Rasa's own HTTP API does; the bot messages go to
the page's socket. A notice the conversation shows already is not shown twice. A bad, expired or
overused token gets a Chinese message on that socket only, outside the conversation, and the chat
carries on; nothing about the notice is revealed without a valid token.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone
from typing import Any, Optional, Union

from rasa.core.channels.channel import OutputChannel
from rasa.shared.core.events import Event

from bot import crypto as field_keys
from bot import replies
from bot.db import Database
from bot.notice_links import LinkProblem, LinkRefused, NoticeLinks, OpenedNotice, open_notice
from bot.notice_routes.chat import delivered, notice_events
from bot.notice_routes.route import OutgoingNotice
from bot.settings import Settings

logger = logging.getLogger(__name__)


def _refused(problem: LinkProblem) -> str:
    return replies.NOTICE_LINK_REFUSED[problem.value]


class NoticeLinkOpener:
    """Checks a link's token, records the opening and shows the notice in the conversation."""

    def __init__(self, settings: Optional[Settings] = None) -> None:
        self._settings = settings
        self._links: Optional[NoticeLinks] = None
        self._db: Optional[Database] = None

    def _ready(self) -> tuple[NoticeLinks, Database]:
        # Lazily: the channel is built before the Rasa server's environment is complete in some set-ups.
        if self._links is None or self._db is None:
            settings = self._settings or Settings.from_env()
            self._links = NoticeLinks(field_keys.load(settings.var_dir).hash_key, settings.notice_link_days)
            self._db = Database(settings.database_url)
        return self._links, self._db

    def _open(self, token: Any, conversation_id: str) -> Union[OpenedNotice, str]:
        links, db = self._ready()
        now = datetime.now(timezone.utc)
        checked = links.check(token, now.date())
        if checked.problem is not None or checked.notice_id is None:
            problem = checked.problem or LinkProblem.MALFORMED
            logger.info("Notice link refused in %s: %s", conversation_id, problem.value)
            return _refused(problem)
        try:
            with db.transaction() as session:
                return open_notice(session, checked.notice_id, conversation_id, now)
        except LinkRefused as refused:
            logger.info("Notice link of notice %s refused in %s: %s", checked.notice_id, conversation_id, refused)
            return _refused(refused.problem)

    async def open(self, token: Any, conversation_id: str, agent: Any, output: OutputChannel) -> Optional[str]:
        """Shows the notice the token names in the conversation; the text to show instead when it cannot."""
        if agent is None or agent.tracker_store is None:
            return replies.NOTICE_LINK_UNAVAILABLE
        try:
            opened = await asyncio.to_thread(self._open, token, conversation_id)
            if isinstance(opened, str):
                return opened
            await self._show(opened, agent, output)
        except Exception:  # noqa: BLE001 (the page says so; the chat goes on)
            logger.exception("Opening a notice link in %s failed", conversation_id)
            return replies.NOTICE_LINK_UNAVAILABLE
        return None

    @staticmethod
    async def _show(opened: OpenedNotice, agent: Any, output: OutputChannel) -> None:
        outgoing = OutgoingNotice(
            key=opened.key,
            kind=opened.kind,
            ticket_no=opened.ticket_no,
            conversation_id=opened.conversation_id,
            channel="web",
            text=opened.text,
            asks_rating=opened.asks_rating,
        )
        async with agent.lock_store.lock(opened.conversation_id):
            processor = agent.processor
            tracker = await processor.fetch_tracker_with_initial_session(opened.conversation_id, output)
            if delivered([event.as_dict() for event in tracker.events], opened.key):
                return  # shown before in this conversation: its history has it
            events = [Event.from_parameters(event) for event in notice_events(outgoing)]
            events = [event for event in events if event is not None]
            for event in events:
                tracker.update(event, agent.domain)
            await processor.execute_side_effects(events, tracker, output)
            await agent.tracker_store.save(tracker)
        logger.info("Notice %s shown from its link in %s", opened.key, opened.conversation_id)
