"""Phone and ID numbers encrypted in the ticket database, searchable by keyed hash; the keys and their file."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import select

from bot import crypto as field_keys
from bot.crypto import FieldCrypto, FieldKeyError, generate_keys, load
from bot.db import Database, create_postgres_database, drop_postgres_database
from bot.handoff import HandoffReason, HandoffService
from bot.models import HandoffRequest, Ticket
from bot.settings import PROJECT_ROOT
from bot.tickets import TicketService
from tests.bot.complaints import draft
from tests.databases import make_settings

PHONE = "13812345678"


def other_keys() -> FieldCrypto:
    return load(Path("/nonexistent"), generate_keys())


def _dump(db: Database) -> str:
    """What a database dump shows: every column of the tables holding personal numbers, as stored."""
    with db.engine.connect() as connection:
        rows = [
            list(row)
            for table in ("tickets", "handoff_requests")
            for row in connection.execute(sa.text(f"SELECT * FROM {table}"))
        ]
    return json.dumps(rows, default=str, ensure_ascii=False)


def test_a_dump_does_not_reveal_phone_numbers_but_the_application_reads_them(db, settings):
    service = TicketService(db, settings)
    ticket_no = service.submit(draft(phone_number=PHONE), "k1").ticket_no
    HandoffService(db, settings).request(
        "conv-1",
        "rest",
        HandoffReason.USER_REQUEST,
        {"phone_number": PHONE, "id_number": "11010519491231002X", "complainant_name": "张三"},
    )
    dump = _dump(db)
    assert PHONE not in dump and "11010519491231002X" not in dump and "张三" in dump
    with db.engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT phone_number, phone_hash FROM tickets")).one()
    assert stored.phone_number != PHONE and field_keys.looks_encrypted(stored.phone_number)
    assert stored.phone_hash == db.crypto.digest(PHONE) and PHONE not in stored.phone_hash
    # The application, the desk and the operator CLI see the full number.
    assert service.get(ticket_no)["phone_number"] == PHONE
    assert service.reveal_phone(ticket_no, "agent1") == PHONE
    assert HandoffService(db, settings).list()[0]["slots"]["phone_number"] == PHONE


def test_without_the_key_the_numbers_cannot_be_read(db, settings):
    TicketService(db, settings).submit(draft(phone_number=PHONE), "k1")
    stranger = Database(db.url, crypto=other_keys())
    try:
        with pytest.raises(FieldKeyError):
            with stranger.transaction() as session:
                session.execute(select(Ticket)).scalar_one()
    finally:
        stranger.dispose()


def test_search_by_phone_goes_through_the_hash(db, settings):
    service = TicketService(db, settings)
    mine = [service.submit(draft(phone_number=PHONE), f"k{i}").ticket_no for i in range(2)]
    service.submit(draft(phone_number="13987654321"), "other")
    with db.transaction() as session:
        found = (
            session.execute(
                select(Ticket.ticket_no).where(Ticket.phone_hash == db.crypto.digest(PHONE)).order_by(Ticket.id)
            )
            .scalars()
            .all()
        )
        assert found == mine
        with pytest.raises(TypeError, match="hash"):
            select(Ticket).where(Ticket.phone_number == PHONE)
    # The status look-up compares the decrypted number, as before.
    assert service.lookup_status("c", mine[0], PHONE).found


def test_lifecycle_changes_keep_the_hash(db, settings):
    service = TicketService(db, settings)
    ticket_no = service.submit(draft(phone_number=PHONE), "k").ticket_no
    service.change(ticket_no, "agent1", status="investigating")
    with db.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT phone_hash FROM tickets")).scalar_one() == db.crypto.digest(PHONE)


# -- keys ---------------------------------------------------------------------


def test_keys_must_be_given_together_and_well_formed(tmp_path):
    key, hash_key = generate_keys().values()
    with pytest.raises(FieldKeyError, match="both or neither"):
        load(tmp_path, {field_keys.ENCRYPTION_KEYS_VARIABLE: key})
    with pytest.raises(FieldKeyError, match="Fernet"):
        load(tmp_path, {field_keys.ENCRYPTION_KEYS_VARIABLE: "not-a-key", field_keys.HASH_KEY_VARIABLE: hash_key})
    with pytest.raises(FieldKeyError, match="32 bytes"):
        load(tmp_path, {field_keys.ENCRYPTION_KEYS_VARIABLE: key, field_keys.HASH_KEY_VARIABLE: "c2hvcnQ="})
    assert not (tmp_path / "keys").exists()


def test_the_key_file_is_private_and_stable(tmp_path):
    first, again = load(tmp_path, {}), load(tmp_path, {})
    assert first == again
    path = tmp_path / "keys" / "field-keys.json"
    assert path.stat().st_mode & 0o777 == 0o600 and list(path.parent.iterdir()) == [path]


def test_a_process_that_starts_meanwhile_never_reads_a_half_written_key_file(tmp_path, monkeypatch):
    """The first process is stopped while writing its key file; a second starts meanwhile."""
    writing, may_finish = threading.Event(), threading.Event()
    real_dump = json.dump
    first_thread: list = []

    def slow_dump(obj, handle, **kwargs):
        if threading.current_thread() is first_thread[0]:
            writing.set()
            may_finish.wait(10)
        return real_dump(obj, handle, **kwargs)

    monkeypatch.setattr(field_keys.json, "dump", slow_dump)
    results: dict = {}

    def start(name: str) -> None:
        try:
            results[name] = load(tmp_path, {})
        except Exception as exc:  # noqa: BLE001 (the failure is the finding)
            results[name] = exc

    first = threading.Thread(target=start, args=("first",))
    first_thread.append(first)
    first.start()
    assert writing.wait(10)
    start("second")
    may_finish.set()
    first.join(10)
    assert isinstance(results["second"], FieldCrypto), results["second"]
    assert results["first"] == results["second"]


# -- migration of existing rows -------------------------------------------------


def _alembic(url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "bot" / "migrations"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    return config


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_url(request, tmp_path):
    if request.param == "sqlite":
        yield make_settings(tmp_path).database_url
        return
    admin = request.getfixturevalue("postgres_url")
    url = admin.rsplit("/", 1)[0] + f"/complaints_migration_{uuid.uuid4().hex[:8]}"
    create_postgres_database(url)
    yield url
    drop_postgres_database(url)


def test_the_migration_encrypts_existing_rows_and_keeps_their_audit(empty_url):
    command.upgrade(_alembic(empty_url), "0005")
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    engine = sa.create_engine(empty_url, future=True)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO tickets (id, ticket_no, submission_key, kind, conversation_id, channel, status, category,"
                " complainant_name, phone_number, description, customer_request, received_at, deadline, updated_at)"
                " VALUES (1, 'TS20261101000001', 'k', 'complaint', 'c1', 'rest', 'accepted', 'claims', '张三',"
                " :phone, 'd', 'r', :now, :day, :now)"
            ),
            {"phone": PHONE, "now": now, "day": now.date()},
        )
        connection.execute(
            sa.text(
                "INSERT INTO ticket_events (ticket_id, at, actor, field, new_value)"
                " VALUES (1, :now, 'bot', 'status', 'accepted')"
            ),
            {"now": now},
        )
        connection.execute(
            sa.text(
                "INSERT INTO handoff_requests (conversation_id, channel, reason, priority, status, slots, ticket_id,"
                " created_at, updated_at) VALUES ('c1', 'rest', 'user_request', 30, 'waiting', :slots, 1, :now, :now)"
            ),
            {"slots": json.dumps({"phone_number": PHONE, "complainant_name": "张三"}), "now": now},
        )
    engine.dispose()

    command.upgrade(_alembic(empty_url), "head")
    db = Database(empty_url)
    try:
        assert PHONE not in _dump(db)
        with db.transaction() as session:
            ticket = session.execute(select(Ticket).where(Ticket.phone_hash == db.crypto.digest(PHONE))).scalar_one()
            assert ticket.phone_number == PHONE and len(ticket.events) == 1
            assert ticket.phone_last4 == PHONE[-4:]  # filled by migration 0008 for the desk's search
            assert session.execute(select(HandoffRequest)).scalar_one().slots == {
                "phone_number": PHONE,
                "complainant_name": "张三",
            }
        command.downgrade(_alembic(empty_url), "0005")
        with db.engine.connect() as connection:
            assert connection.execute(sa.text("SELECT phone_number FROM tickets")).scalar_one() == PHONE
            assert connection.execute(sa.text("SELECT COUNT(*) FROM ticket_events")).scalar_one() == 1
    finally:
        db.dispose()
