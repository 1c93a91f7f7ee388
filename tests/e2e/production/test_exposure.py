"""The production topology's transport (issue 12, finding 2): the action servers
answer only Rasa, in nginx and in each server, and every process listens on loopback."""

from __future__ import annotations

import re

import psutil
import requests
from sqlalchemy import func, select

from bot.models import Ticket
from bot.rasa.action_server import HEADER, token_file
from tests.e2e.forged_requests import FORGED_SUBMISSION


def tickets(topology) -> int:
    with topology.db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Ticket))


def test_the_action_servers_refuse_requests_without_the_secret_in_nginx_and_directly(healthy):
    state = healthy.state()
    token = token_file(healthy.var).read_text().strip()  # generated: the tests set no ACTION_SERVER_TOKEN
    workers = [
        f"http://127.0.0.1:{p['port']}" for name, p in sorted(state["processes"].items()) if name.startswith("actions-")
    ]
    before = tickets(healthy)
    for url in [state["actions_url"], *workers]:
        for headers in ({}, {HEADER: "wrong"}):
            response = requests.post(f"{url}/webhook", json=FORGED_SUBMISSION, headers=headers, timeout=30)
            assert response.status_code == 401, (url, response.text[:200])
        assert requests.get(f"{url}/health", timeout=30).json() == {"status": "ok"}
        assert requests.get(f"{url}/actions", headers={HEADER: token}, timeout=30).status_code == 200
    assert tickets(healthy) == before
    # nginx answered those itself, without passing them on.
    access = (healthy.var / "run" / "nginx-access.log").read_text()
    assert len(re.findall(r" 401 POST /webhook -> - ", access)) >= 2
    # Its rendered configuration holds the secret: owner only.
    assert (healthy.var / "run" / "nginx.conf").stat().st_mode & 0o077 == 0


def test_every_process_listens_on_loopback_only(healthy):
    listening = {}
    for name, process in healthy.state()["processes"].items():
        for connection in psutil.Process(process["pid"]).net_connections(kind="inet"):
            if connection.status == psutil.CONN_LISTEN:
                listening.setdefault(name, set()).add(connection.laddr.ip)
    assert {"nginx", "desk", "rasa-1", "rasa-2", "actions-1", "actions-2"} <= set(listening), listening
    assert all(addresses == {"127.0.0.1"} for addresses in listening.values()), listening
