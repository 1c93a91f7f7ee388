import json
import subprocess
import sys

from bot.settings import PROJECT_ROOT
from bot.tickets import TicketService
from tests.bot.command_line import cli, cli_env
from tests.bot.complaints import draft


def test_operators_list_and_show_tickets_and_handoffs_as_json(tmp_path, sqlite_db, settings):
    ticket_no = TicketService(sqlite_db, settings).submit(draft(), "k").ticket_no
    listed = json.loads(cli(tmp_path, "tickets", "list", "--json").stdout)
    assert [t["ticket_no"] for t in listed] == [ticket_no] and listed[0]["phone_number"] == "13812345678"
    shown = json.loads(cli(tmp_path, "tickets", "show", ticket_no.lower(), "--json").stdout)
    assert shown["events"][0]["new_value"] == "accepted"
    assert json.loads(cli(tmp_path, "handoffs", "list", "--json").stdout) == []


def test_unknown_ticket_is_a_clear_error(tmp_path, sqlite_db):
    result = cli(tmp_path, "tickets", "show", "TS20990101000001")
    assert result.returncode == 1 and "not found" in result.stderr


def test_operators_filter_the_ticket_list(tmp_path, sqlite_db, settings):
    from tests.bot.sample_tickets import shanghai, submit

    late = submit(sqlite_db, settings, shanghai(2020, 1, 1, 9), {"assignee": "li"})
    flagged = submit(sqlite_db, settings, shanghai(2099, 1, 1, 9), {"risk_flags": "media"})
    done = submit(sqlite_db, settings, shanghai(2020, 1, 2, 9), {"status": "closed"})

    def numbers(*args):
        result = cli(tmp_path, "tickets", "list", "--json", *args)
        assert result.returncode == 0, result.stderr
        return [row["ticket_no"] for row in json.loads(result.stdout)]

    assert numbers() == [flagged, done, late]  # newest first
    assert numbers("--overdue") == [late]
    assert numbers("--assignee", "li") == [late] and numbers("--assignee", "unassigned") == [flagged, done]
    assert numbers("--flag", "media") == [flagged]
    assert numbers("--status", "closed") == [done]
    assert numbers("--sort", "deadline", "--limit", "1") == [late]
    [row] = json.loads(cli(tmp_path, "tickets", "list", "--json", "--overdue").stdout)
    assert row["received_at"] == "2020-01-01T01:00:00+00:00" and row["updated_at"].endswith("+00:00")
    assert row["deadline_state"] == "overdue" and row["assignee"] == "li"
    refused = cli(tmp_path, "tickets", "list", "--flag", "fire")
    assert refused.returncode == 2 and "未知的风险标记" in refused.stderr


def test_operators_create_a_trainer_account(tmp_path, sqlite_db):
    created = subprocess.run(
        [sys.executable, "-m", "bot", "agents", "add", "sun", "--name", "孙训练", "--role", "trainer"]
        + ["--password-stdin"],
        cwd=PROJECT_ROOT,
        input="a-long-password\n",
        capture_output=True,
        text=True,
        env=cli_env(tmp_path),
        timeout=120,
    )
    assert created.returncode == 0, created.stderr
    assert "sun  孙训练  trainer" in cli(tmp_path, "agents", "list").stdout
    refused = cli(tmp_path, "agents", "add", "x1", "--name", "X", "--role", "boss", "--password-stdin")
    assert refused.returncode == 2 and "trainer" in refused.stderr  # the choices named
