"""Faults on the running production topology, each followed by recovery without
anyone's help: action servers restarting, Redis going away, PostgreSQL
restarting, a Rasa replica killed under load. Killing a replica comes last:
its restart costs a model load (`healthy` waits for it if tests are reordered).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import List

import pytest
from sqlalchemy import create_engine

from bot.analytics import AnalyticsFeed
from bot.channels import FAILED_TURN_TEXT
from bot.tickets import TicketService
from tests.databases import IN_CI, POSTGRES_ADMIN_URL
from tests.e2e.production.policyholders import ANSWERS, OPENING, PHONE, User, assert_every_replica_reaches


def tickets_of(topology, sender: str):
    return [t for t in TicketService(topology.db, topology.settings).list(limit=1000) if t["conversation_id"] == sender]


def assert_filed(topology, user: User, ticket_no: str) -> None:
    [ticket] = tickets_of(topology, user.sender)
    assert ticket["ticket_no"] == ticket_no and ticket["phone_number"] == PHONE
    assert ticket["category"] == "claims" and ticket["complainant_name"] == "张三"
    assert ticket["customer_request"] == ANSWERS["customer_request"]


def wait_restarted(topology, name: str, restarts_before: int) -> None:
    topology.wait_until(
        lambda: topology.process(name)["restarts"] > restarts_before and topology.process(name)["ready"],
        120,
        f"{name} serving again",
    )


def test_the_form_resumes_when_the_action_servers_restart(healthy):
    # Rolling restart, one worker at a time, while the user goes on: nginx sends
    # the action calls to the other worker, so no message goes unanswered.
    user = User(healthy)
    restarts = {name: healthy.process(name)["restarts"] for name in ("actions-1", "actions-2")}

    def rolling(turn: int) -> None:
        if turn == 1:
            healthy.kill("actions-1", signal.SIGTERM)
        elif turn == 2:
            wait_restarted(healthy, "actions-1", restarts["actions-1"])
            healthy.kill("actions-2", signal.SIGTERM)
        elif turn == 3:
            wait_restarted(healthy, "actions-2", restarts["actions-2"])

    ticket_no = user.file_complaint(attempts=1, between=rolling)
    assert_filed(healthy, user, ticket_no)

    # Both workers down at once mid-form: the message is not answered, the
    # user resends it once they are back, and the form goes on where it was.
    user = User(healthy)
    user.say(OPENING)
    user.answer()
    asked = user.slots()["requested_slot"]
    befores = {name: healthy.process(name)["restarts"] for name in ("actions-1", "actions-2")}
    for name in befores:
        healthy.kill(name, signal.SIGKILL)
    assert user.send(ANSWERS[asked], timeout=60) is None
    healthy.wait_until(
        lambda: all(healthy.process(n)["restarts"] > r and healthy.process(n)["ready"] for n, r in befores.items()),
        120,
        "the action servers serving again",
    )
    assert user.slots()["requested_slot"] == asked  # the unanswered message changed nothing
    user.say(ANSWERS[asked])
    assert_filed(healthy, user, user.finish_form())


async def test_redis_outage_is_reported_and_the_service_recovers_when_it_returns(healthy):
    user = User(healthy)
    user.say(OPENING)
    asked = user.slots()["requested_slot"]
    port = healthy.redis.port
    healthy.redis.stop()
    try:
        # The operator is told what is down and what that means…
        healthy.wait_until(
            lambda: f"ERROR: Redis at 127.0.0.1:{port} is unreachable" in healthy.launcher_output(),
            30,
            "the Redis outage reported",
        )
        # …the message is refused rather than answered without a lock, and the
        # user is told so (503: it counts as not received); Rasa logs why,
        # naming the lock store's Redis.
        refused = user.http.post(
            f"{healthy.lb_url}/webhooks/rest/webhook",
            json={"sender": user.sender, "message": ANSWERS[asked]},
            timeout=60,
        )
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        assert [m["text"] for m in refused.json()] == [FAILED_TURN_TEXT]
        logs = healthy.log("rasa-1") + healthy.log("rasa-2")
        assert "Error while acquiring lock" in logs and f"127.0.0.1:{port}" in logs
    finally:
        healthy.redis.start()  # the same port, as a restarted Redis would be
    healthy.wait_until(
        lambda: f"Redis at 127.0.0.1:{port} is reachable again" in healthy.launcher_output(), 30, "Redis reported back"
    )

    # No restart of anything: the conversation continues where it was.
    assert user.slots()["requested_slot"] == asked
    user.say(ANSWERS[asked])
    assert_filed(healthy, user, user.finish_form())
    # socket.io's Redis subscriptions come back by themselves (they retry with a
    # growing delay, up to 60 s): messages reach sockets across replicas again.
    deadline = time.time() + 120
    while True:
        try:
            await assert_every_replica_reaches(healthy)
            break
        except AssertionError:
            if time.time() > deadline:
                raise


def _postgres_cluster() -> list:
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions or shutil.which("pg_ctlcluster") is None:
        message = "PostgreSQL is not managed by pg_ctlcluster here; cannot restart it"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "restart", "-m", "fast"]


def test_postgresql_restart_loses_no_ticket_and_needs_no_help(healthy):
    restart = _postgres_cluster()
    before = User(healthy)
    acknowledged = before.file_complaint()

    user = User(healthy)
    user.say(OPENING)
    user.answer()
    user.answer()
    asked = user.slots()["requested_slot"]

    # PostgreSQL is shared with other tests: the outage is a fast restart, and the
    # next message is sent while it is under way.
    with ThreadPoolExecutor(1) as pool:
        restarting = pool.submit(subprocess.run, restart, check=True, capture_output=True, timeout=120)
        time.sleep(0.3)
        answer = user.say(ANSWERS[asked])
        restarting.result()  # the restart did happen
    admin = create_engine(POSTGRES_ADMIN_URL, future=True)
    healthy.wait_until(lambda: admin.connect().close() is None, 60, "PostgreSQL back")
    admin.dispose()

    # Rasa answered from the real conversation (not a blank one) and moved on.
    assert user.slots()["requested_slot"] != asked, answer
    ticket_no = user.finish_form()
    assert_filed(healthy, user, ticket_no)
    assert_filed(healthy, before, acknowledged)
    # The analytics consumer got through the restart as well.
    feed = AnalyticsFeed(healthy.db)
    healthy.wait_until(
        lambda: feed.conversation(user.sender)["tickets"] == [ticket_no], 120, "the ticket in the analytics feed"
    )


def _served_by(topology, port: int) -> int:
    log = (topology.var / "run" / "nginx-access.log").read_text()
    return len(re.findall(rf"POST /webhooks/rest/webhook -> 127\.0\.0\.1:{port}\b", log))


def _routed_to(topology, user: User) -> str:
    """The replica (host:port) the load balancer's cookie sends this user to; sets the cookie."""

    def routes() -> List[str]:
        return re.findall(r"GET /webhooks/rest/ -> (\S+)", (topology.var / "run" / "nginx-access.log").read_text())

    before = len(routes())
    user.http.get(f"{topology.lb_url}/webhooks/rest/", timeout=30).raise_for_status()
    topology.wait_until(lambda: len(routes()) > before, 10, "nginx logging the request")  # logged after answering
    return routes()[-1]


def _users_on_both_replicas(topology, victim_port: int, each: int = 3) -> List[User]:
    """Users until `each` of them are routed to the victim and `each` to the other
    replica (the cookie's hash decides; 6 users at random all missed one replica
    now and then)."""
    on_victim: List[User] = []
    elsewhere: List[User] = []
    while len(on_victim) < each or len(elsewhere) < each:
        user = User(topology)
        side = on_victim if _routed_to(topology, user).endswith(f":{victim_port}") else elsewhere
        if len(side) < each:
            side.append(user)
    return on_victim + elsewhere


def test_killing_a_rasa_replica_under_load_loses_nothing_acknowledged(healthy):
    victim = healthy.process("rasa-1")
    users = _users_on_both_replicas(healthy, victim["port"])
    served_before = _served_by(healthy, victim["port"])
    turns = Counter()
    killed = threading.Event()
    lock = threading.Lock()

    def between(turn: int) -> None:
        with lock:
            turns[turn] += 1
            # Everyone is mid-form: kill the replica while messages are in flight.
            if turns[2] == len(users) and not killed.is_set():
                killed.set()
                os.killpg(victim["pid"], signal.SIGKILL)

    with ThreadPoolExecutor(len(users)) as pool:
        tickets = list(pool.map(lambda u: u.file_complaint(attempts=5, between=between), users))
    assert killed.is_set()
    # The killed replica was carrying part of the load before it died.
    assert _served_by(healthy, victim["port"]) > served_before

    for user, ticket_no in zip(users, tickets):
        assert_filed(healthy, user, ticket_no)
        # Every message the bot answered is in the conversation.
        stored = Counter(e["text"] for e in healthy.tracker(user.sender)["events"] if e["event"] == "user")
        missing = Counter(user.acknowledged) - stored
        assert not missing, f"acknowledged but lost: {missing}"

    # The launcher noticed (it looks once a second; the users may finish sooner)
    # and started the replica again.
    healthy.wait_until(
        lambda: "rasa-1 exited (signal 9)" in healthy.launcher_output(), 30, "the launcher reporting rasa-1's death"
    )
    healthy.wait_until(
        lambda: healthy.process("rasa-1")["restarts"] >= 1 and healthy.process("rasa-1")["alive"],
        60,
        "rasa-1 started again",
    )
