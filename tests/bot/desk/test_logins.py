"""Login abuse against a real desk process: floods, lockouts as a weapon, and what is logged.

Clients on other loopback addresses (127.0.0.2, 127.0.0.3) stand for other
machines: the desk counts failures per username and address and per address.
"""

from __future__ import annotations

import asyncio
import secrets
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from requests.adapters import HTTPAdapter

from bot.desk.security import FAILURES_PER_ADDRESS, FailedLogins, LoginBusy, PasswordChecks
from tests.bot.desk.client import PASSWORD, DeskClient


class FromAddress(HTTPAdapter):
    """Connects from the given local address."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client_from(url: str, address: str) -> DeskClient:
    client = DeskClient(url)
    client.http.mount("http://", FromAddress(address))
    return client


def attempt(client: DeskClient, username: str, password: str) -> requests.Response:
    return client.http.post(
        f"{client.url}/login", data={"username": username, "password": password}, timeout=30, allow_redirects=False
    )


def test_a_flood_of_wrong_logins_does_not_slow_down_a_logged_in_agent(desk):
    li = desk.agent("li")
    quiet = []
    for _ in range(5):
        started = time.perf_counter()
        li.get("/api/queue")
        quiet.append(time.perf_counter() - started)
    stop, answers = threading.Event(), []

    def flood() -> None:
        attacker = DeskClient(desk.url)
        while not stop.is_set():
            answers.append(attempt(attacker, f"x{secrets.token_hex(6)}", "wrong-password"))

    during = []
    with ThreadPoolExecutor(max_workers=32) as pool:
        for _ in range(32):
            pool.submit(flood)
        try:
            time.sleep(1)
            for _ in range(10):
                started = time.perf_counter()
                try:
                    assert li.get("/api/queue").status_code == 200
                finally:
                    during.append(time.perf_counter() - started)
                time.sleep(0.2)
        finally:
            stop.set()
    assert {response.status_code for response in answers} <= {401, 429}
    busy = [response for response in answers if "登录请求过多，请稍后再试" in response.text]
    assert busy and all(response.status_code == 429 for response in busy)
    assert statistics.median(during) < max(0.5, 5 * statistics.median(quiet)), (quiet, during)
    assert max(during) < 2.0, during


def test_wrong_passwords_from_one_address_do_not_lock_the_agent_out_at_another(desk):
    desk.agent("li")
    attacker = client_from(desk.url, "127.0.0.2")
    codes = [attempt(attacker, "li", "wrong-password").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    assert "15分钟" in attempt(attacker, "li", PASSWORD).text  # locked there, even with the password
    assert DeskClient(desk.url).login("li").get("/api/queue").status_code == 200
    # A username that is no account is locked the same way: lockouts reveal no accounts.
    codes = [attempt(attacker, "nobody", "wrong-password").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]


def test_an_address_guessing_through_many_usernames_is_throttled(desk):
    desk.agent("li")
    guesser = client_from(desk.url, "127.0.0.3")
    codes = [attempt(guesser, f"user{n}", "wrong-password").status_code for n in range(FAILURES_PER_ADDRESS)]
    assert codes == [401] * FAILURES_PER_ADDRESS
    refused = attempt(guesser, "li", PASSWORD)
    assert refused.status_code == 429 and "该网络登录失败次数过多" in refused.text
    assert refused.headers["Retry-After"] == "900"
    assert DeskClient(desk.url).login("li").get("/api/queue").status_code == 200


def test_failed_logins_lockouts_and_refusals_are_logged_without_passwords(desk):
    desk.agent("li")
    guesser = client_from(desk.url, "127.0.0.2")
    for _ in range(6):
        attempt(guesser, "li", "Secret-Guess-1")
    attempt(guesser, "13812345678", "Other-Secret-2")  # a phone number typed as username
    li = DeskClient(desk.url).login("li")
    li.csrf = "forged"
    assert li.post("/api/handoffs/1/claim").status_code == 403
    assert DeskClient(desk.url).get("/api/queue").status_code == 401
    time.sleep(0.5)
    log = desk.log.read_text()
    assert "failed desk login for account 'li' from 127.0.0.2 (1/5 for this username" in log
    assert "desk login for account 'li' from 127.0.0.2 locked for 15 minutes" in log
    assert "refused login while locked (429) from 127.0.0.2" in log
    assert "failed desk login for an unknown username from 127.0.0.2" in log
    assert "refused request with a wrong CSRF token (403) from 127.0.0.1" in log
    assert "refused request without a valid session (401) from 127.0.0.1" in log
    for secret in ("Secret-Guess-1", "Other-Secret-2", "13812345678"):
        assert secret not in log


def test_password_checks_refuse_beyond_their_queue_and_hold_a_place_until_the_work_is_done():
    async def scenario() -> None:
        checks = PasswordChecks(workers=1, queue=1)
        gate = threading.Event()
        running = asyncio.ensure_future(checks.run(gate.wait, 10))
        queued = asyncio.ensure_future(checks.run(lambda: "queued"))
        await asyncio.sleep(0.1)
        with pytest.raises(LoginBusy):
            await checks.run(lambda: None)
        running.cancel()  # the client hung up, but its verification still runs
        await asyncio.sleep(0.1)
        with pytest.raises(LoginBusy):
            await checks.run(lambda: None)
        gate.set()
        assert await queued == "queued"
        assert await checks.run(lambda: "free again") == "free again"
        checks.close()

    asyncio.run(scenario())


def test_failed_logins_lock_a_username_per_address_for_the_window_and_stay_bounded(monkeypatch):
    now = [0.0]
    logins = FailedLogins(clock=lambda: now[0], per_username=2, per_address=3, window=60)
    for _ in range(2):
        assert logins.refusal("li", "10.0.0.1") is None
        logins.failed("li", "10.0.0.1", account=True)
    assert logins.refusal("li", "10.0.0.1") == "登录失败次数过多，请15分钟后再试"
    assert logins.refusal("li", "10.0.0.2") is None
    logins.failed("wang", "10.0.0.1", account=True)
    assert logins.refusal("zhao", "10.0.0.1") == "该网络登录失败次数过多，请15分钟后再试"
    now[0] = 60.0
    assert logins.refusal("li", "10.0.0.1") is None
    monkeypatch.setattr("bot.desk.security.MAX_TRACKED", 100)
    for n in range(1000):
        logins.failed(f"user{n}", f"10.1.{n // 250}.{n % 250}", account=False)
    assert len(logins.by_username.counts) <= 100 and len(logins.by_address.counts) <= 100


def test_behind_a_trusted_proxy_failures_count_per_forwarded_address(desk_factory):
    desk = desk_factory(TRUSTED_PROXIES="127.0.0.1")
    desk.agent("li")
    client = DeskClient(desk.url)

    def attempt_via(forwarded_for: str, password: str) -> int:
        return client.http.post(
            f"{desk.url}/login",
            data={"username": "li", "password": password},
            headers={"X-Forwarded-For": forwarded_for},
            timeout=30,
            allow_redirects=False,
        ).status_code

    assert [attempt_via("203.0.113.5", "wrong-password") for _ in range(6)] == [401] * 5 + [429]
    assert attempt_via("198.51.100.7", PASSWORD) == 302


def test_without_a_trusted_proxy_a_forged_forwarded_address_changes_nothing(desk):
    desk.agent("li")
    codes = [attempt_with_header(desk.url, f"203.0.113.{n}") for n in range(6)]
    assert codes == [401] * 5 + [429]


def attempt_with_header(url: str, forwarded_for: str) -> int:
    return requests.post(
        f"{url}/login",
        data={"username": "li", "password": "wrong-password"},
        headers={"X-Forwarded-For": forwarded_for},
        timeout=30,
        allow_redirects=False,
    ).status_code
