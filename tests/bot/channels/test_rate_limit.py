"""Requests per client address (bot/channels/rate_limit.py)."""

import pytest

from bot.channels.rate_limit import ClientRateLimit, client_address, parse_networks


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_the_refill_rate():
    clock = Clock()
    limit = ClientRateLimit(per_minute=60, burst=3, clock=clock)
    assert [limit.allow("203.0.113.5") for _ in range(4)] == [True, True, True, False]
    assert limit.allow("203.0.113.6")  # another address has its own bucket
    clock.now += 1.0  # one request a second
    assert limit.allow("203.0.113.5") and not limit.allow("203.0.113.5")
    assert limit.retry_after() == "1"


def test_ipv6_clients_are_counted_per_64_and_exempt_addresses_are_not_counted():
    clock = Clock()
    limit = ClientRateLimit(per_minute=1, burst=1, exempt=parse_networks("10.1.2.3, ::1", "X"), clock=clock)
    assert limit.allow("2001:db8:1:2::1") and not limit.allow("2001:db8:1:2::ffff")
    assert limit.allow("2001:db8:1:3::1")
    assert all(limit.allow("10.1.2.3") for _ in range(10))
    assert all(limit.allow("::1") for _ in range(10))
    assert limit.allow("10.1.2.4") and not limit.allow("10.1.2.4")


def test_forwarded_addresses_count_only_behind_a_trusted_proxy():
    proxies = parse_networks("127.0.0.1", "TRUSTED_PROXIES")
    # nginx appends the address it saw; whatever the client wrote comes before it.
    assert str(client_address("127.0.0.1", "1.1.1.1, 198.51.100.7", proxies)) == "198.51.100.7"
    assert str(client_address("198.51.100.7", "1.1.1.1", proxies)) == "198.51.100.7"
    assert str(client_address("127.0.0.1", "198.51.100.7, 127.0.0.1", proxies)) == "198.51.100.7"
    assert str(client_address("127.0.0.1", "garbage", proxies)) == "127.0.0.1"
    assert str(client_address("127.0.0.1", "1.1.1.1", ())) == "127.0.0.1"
    limit = ClientRateLimit(per_minute=1, burst=1, trusted_proxies=proxies, clock=Clock())
    assert limit.allow("127.0.0.1", "198.51.100.7") and not limit.allow("127.0.0.1", "9.9.9.9, 198.51.100.7")
    assert limit.allow("127.0.0.1", "198.51.100.8")


def test_zero_per_minute_turns_the_limit_off_and_bad_addresses_are_refused_at_start():
    limit = ClientRateLimit(per_minute=0, burst=1)
    assert all(limit.allow("203.0.113.5") for _ in range(100))
    with pytest.raises(ValueError, match="TRUSTED_PROXIES"):
        parse_networks("127.0.0.1, nginx", "TRUSTED_PROXIES")
