"""The probe's transport attacks on the real servers (issue 12, finding 2): a
direct call to the action server, and which addresses the servers listen on."""

from __future__ import annotations

import socket
import uuid

import psutil
import requests
from sqlalchemy import func, select

from bot.models import HandoffRequest, Ticket
from bot.rasa.action_server import HEADER, shared_token
from tests.e2e.forged_requests import FORGED_SUBMISSION


def written(assistant) -> tuple:
    with assistant.db.transaction() as session:
        return (
            session.scalar(select(func.count()).select_from(Ticket)),
            session.scalar(select(func.count()).select_from(HandoffRequest)),
        )


def test_a_direct_call_to_the_action_server_without_the_secret_is_refused_and_writes_nothing(assistant):
    before = written(assistant)
    for headers in ({}, {HEADER: "wrong"}, {HEADER: shared_token(assistant.settings)[:-1]}):
        response = requests.post(
            f"{assistant.actions_url}/webhook", json=FORGED_SUBMISSION, headers=headers, timeout=30
        )
        assert response.status_code == 401, (headers.keys(), response.text[:300])
        assert response.json() == {"error": "unauthorized"}
        assert requests.get(f"{assistant.actions_url}/actions", headers=headers, timeout=30).status_code == 401
    assert written(assistant) == before
    # Health checks stay open; the right secret is answered.
    assert requests.get(f"{assistant.actions_url}/health", timeout=30).json() == {"status": "ok"}
    listed = requests.get(
        f"{assistant.actions_url}/actions", headers={HEADER: shared_token(assistant.settings)}, timeout=30
    )
    assert listed.status_code == 200 and {"name": "action_submit_complaint"} in listed.json()


def test_rasa_sends_the_secret_so_custom_actions_still_run(assistant):
    sender = f"e2e-{uuid.uuid4().hex[:10]}"
    assistant.say(sender, "你好")
    events = assistant.tracker(sender)["events"]
    assert any(e["event"] == "action" and e.get("name") == "action_session_start" for e in events)


def _listening(pids) -> list:
    found = []
    for pid in pids:
        for connection in psutil.Process(pid).net_connections(kind="inet"):
            if connection.status == psutil.CONN_LISTEN:
                found.append((pid, connection.laddr.ip, connection.laddr.port))
    return found


def test_the_servers_listen_on_loopback_only(assistant):
    listening = _listening(assistant.pids)
    rasa_port = int(assistant.url.rsplit(":", 1)[1])
    actions_port = int(assistant.actions_url.rsplit(":", 1)[1])
    assert {rasa_port, actions_port} <= {port for _, _, port in listening}, listening
    assert all(address == "127.0.0.1" for _, address, _ in listening), listening
    # From this machine's other addresses, nothing answers.
    others = [
        a.address
        for addresses in psutil.net_if_addrs().values()
        for a in addresses
        if a.family == socket.AF_INET and not a.address.startswith("127.")
    ]
    for address in others:
        for port in (rasa_port, actions_port):
            with socket.socket() as sock:
                sock.settimeout(2)
                assert sock.connect_ex((address, port)) != 0, f"{address}:{port} answers"
