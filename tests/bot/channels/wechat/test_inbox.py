"""Retry deduplication in the database (shared by every Rasa replica)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

from bot.channels.wechat.inbox import DUPLICATE, NEW, PUSHED, REPLAY, REPLIED, Inbox
from bot.db import Database


def test_a_message_is_claimed_once(db):
    inbox = Inbox(db)
    assert inbox.claim("msg|gh|1", "oUser", "a" * 40).outcome == NEW
    assert inbox.claim("msg|gh|1", "oUser", "a" * 40).outcome == DUPLICATE
    assert inbox.claim("msg|gh|2", "oUser", "b" * 40).outcome == NEW


def test_a_retry_gets_the_passive_reply_again(db):
    inbox = Inbox(db)
    inbox.claim("msg|gh|1", "oUser", "a" * 40)
    inbox.settle("msg|gh|1", REPLIED, "您好")
    assert inbox.claim("msg|gh|1", "oUser", "a" * 40).reply == "您好"
    inbox.claim("msg|gh|2", "oUser", "b" * 40)
    inbox.settle("msg|gh|2", PUSHED)
    assert inbox.claim("msg|gh|2", "oUser", "b" * 40).reply is None


def test_one_signed_url_carries_one_message(db):
    inbox = Inbox(db)
    inbox.claim("msg|gh|1", "oUser", "a" * 40)
    assert inbox.claim("msg|gh|666", "oUser", "a" * 40).outcome == REPLAY


def test_replicas_racing_for_one_message(db):
    # Separate engines, as separate Rasa processes would have.
    replicas = [Inbox(Database(db.url)) for _ in range(6)]
    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(lambda inbox: inbox.claim("msg|gh|race", "oUser", "c" * 40).outcome, replicas))
    assert sorted(outcomes) == [DUPLICATE] * 5 + [NEW]
    for inbox in replicas:
        inbox.db.dispose()


def test_old_entries_are_purged(db):
    now = datetime(2026, 11, 23, tzinfo=timezone.utc)
    clock = [now]
    inbox = Inbox(db, retention=timedelta(days=2), clock=lambda: clock[0])
    inbox.claim("msg|gh|old", "oUser", "d" * 40)
    clock[0] = now + timedelta(days=3)
    inbox.claim("msg|gh|new", "oUser", "e" * 40)
    assert inbox.purge() == 1
    assert inbox.claim("msg|gh|new", "oUser", "e" * 40).outcome == DUPLICATE
