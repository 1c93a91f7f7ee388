import json

from bot.tickets import TicketService
from tests.bot.command_line import cli
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
