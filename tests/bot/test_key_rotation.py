"""Rotating the field keys (bot/key_rotation.py): every row re-encrypted with the new first key."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import crypto as field_keys
from bot.crypto import FieldKeyError, generate_keys, load
from bot.db import Database
from bot.handoff import HandoffReason, HandoffService
from bot.key_rotation import rotate_keys
from bot.models import HandoffRequest, Ticket
from bot.tickets import TicketService
from tests.bot.command_line import cli
from tests.bot.complaints import draft

PHONE = "13812345678"


def test_rotation_re_encrypts_every_row_with_the_new_first_key(db, settings):
    old = db.crypto
    TicketService(db, settings).submit(draft(phone_number=PHONE), "k")
    HandoffService(db, settings).request("conv-1", "rest", HandoffReason.USER_REQUEST, {"phone_number": PHONE})
    new_key, new_hash = generate_keys().values()
    old_key = old.encryption_keys[0].decode()
    both = load(
        Path("/nonexistent"),
        {field_keys.ENCRYPTION_KEYS_VARIABLE: f"{new_key},{old_key}", field_keys.HASH_KEY_VARIABLE: new_hash},
    )
    rotating = Database(db.url, crypto=both)
    only_new = Database(
        db.url,
        crypto=load(
            Path("/nonexistent"), {field_keys.ENCRYPTION_KEYS_VARIABLE: new_key, field_keys.HASH_KEY_VARIABLE: new_hash}
        ),
    )
    try:
        report = rotate_keys(rotating)
        assert report.as_dict() == {"tickets": 1, "handoffs": 1}
        with only_new.transaction() as session:
            ticket = session.execute(
                select(Ticket).where(Ticket.phone_hash == only_new.crypto.digest(PHONE))
            ).scalar_one()
            assert ticket.phone_number == PHONE
            assert session.execute(select(HandoffRequest)).scalar_one().slots["phone_number"] == PHONE
        with pytest.raises(FieldKeyError):
            with db.transaction() as session:  # the old key alone no longer opens anything
                session.execute(select(Ticket)).scalar_one()
    finally:
        rotating.dispose()
        only_new.dispose()


def test_operators_rotate_keys_from_the_cli(tmp_path, sqlite_db, settings):
    TicketService(sqlite_db, settings).submit(draft(phone_number=PHONE), "k")
    new_key = generate_keys()[field_keys.ENCRYPTION_KEYS_VARIABLE]
    old_key = sqlite_db.crypto.encryption_keys[0].decode()
    hash_key = os.environ[field_keys.HASH_KEY_VARIABLE]
    result = cli(tmp_path, "privacy", "rotate-keys", **{field_keys.ENCRYPTION_KEYS_VARIABLE: f"{new_key},{old_key}"})
    assert json.loads(result.stdout) == {"re_encrypted": {"tickets": 1, "handoffs": 0}}, result.stderr
    only_new = Database(
        sqlite_db.url,
        crypto=load(tmp_path, {field_keys.ENCRYPTION_KEYS_VARIABLE: new_key, field_keys.HASH_KEY_VARIABLE: hash_key}),
    )
    try:
        assert TicketService(only_new, settings).list()[0]["phone_number"] == PHONE
    finally:
        only_new.dispose()
