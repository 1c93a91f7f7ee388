"""Requests per client address on the channels that see one (REST, web chat).

A token bucket per address: `burst` requests at once, refilled at `per_minute`.
It bounds how fast one machine can drive conversations (the probe walked a
day's ticket numbers in seconds, with a new conversation per guess); the limits
per ticket and per phone number are the domain's own (bot/tickets.py).

The client address is the TCP peer, unless the peer is a trusted proxy
(`TRUSTED_PROXIES`, e.g. the nginx in front of the Rasa servers): then it is
the right-most `X-Forwarded-For` entry that is not a trusted proxy itself, as
nginx's `$proxy_add_x_forwarded_for` appends the address it saw. IPv6 clients
are counted per /64, the block one subscriber usually holds. Addresses in
`CHANNEL_RATE_EXEMPT` (an app's backend relaying many users) are not limited.

Each server process counts for itself: with N Rasa replicas behind a load
balancer one address gets up to N times the rate. The counted address goes with
each message to the bot (metadata `client_address`), where the status look-up
limits failures per address across conversations.
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple, Union

from bot.settings import Settings

RATE_LIMITED_TEXT = "您发送得太频繁了，请稍等一会儿再试。"
# The message metadata key under which channels pass the counted address on
# (read by the status look-up's per-address limit, actions/services.py).
CLIENT_ADDRESS_KEY = "client_address"
# Addresses remembered at once; the least recently seen are forgotten first.
MAX_TRACKED_ADDRESSES = 100_000

Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]


def parse_networks(value: str, name: str) -> Tuple[Network, ...]:
    """Comma-separated addresses or CIDR blocks (`127.0.0.1, 10.0.0.0/8, ::1`)."""
    networks = []
    for item in (part.strip() for part in (value or "").split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(f"{name}: {item!r} is not an IP address or network") from exc
    return tuple(networks)


def _address(value: str) -> Optional[Address]:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _within(address: Address, networks: Sequence[Network]) -> bool:
    return any(address in network for network in networks)


def client_address(peer: str, forwarded_for: Optional[str], trusted_proxies: Sequence[Network]) -> Optional[Address]:
    """The client's address: the peer, or what trusted proxies say they saw; None if unreadable."""
    address = _address(peer or "")
    if address is not None and forwarded_for and _within(address, trusted_proxies):
        for hop in reversed(forwarded_for.split(",")):
            forwarded = _address(hop)
            if forwarded is None:
                break  # garbage: stop at the last address a trusted hop vouched for
            address = forwarded
            if not _within(forwarded, trusted_proxies):
                break
    return address


def bucket_key(address: Optional[Address]) -> str:
    """What one bucket counts: an IPv4 address, an IPv6 /64."""
    if address is None:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


@dataclass
class _Bucket:
    tokens: float
    updated: float
    refusing: bool = False


@dataclass(frozen=True)
class Admission:
    """Whether a request may go on, and the address it was counted against."""

    allowed: bool
    client: Optional[str]  # None for an exempt address (an app's backend speaks for many users)
    first_refusal: bool = False  # the first refused request since the bucket was last allowed: log it


class ClientRateLimit:
    """Token buckets per client address, in this process."""

    def __init__(
        self,
        per_minute: int,
        burst: int,
        exempt: Sequence[Network] = (),
        trusted_proxies: Sequence[Network] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_second = max(0, per_minute) / 60.0
        self.burst = max(1, burst)
        self.exempt = tuple(exempt)
        self.trusted_proxies = tuple(trusted_proxies)
        self.clock = clock
        self._buckets: "OrderedDict[str, _Bucket]" = OrderedDict()

    @classmethod
    def from_settings(cls, settings: Settings) -> "ClientRateLimit":
        return cls(
            settings.channel_rate_per_minute,
            settings.channel_rate_burst,
            parse_networks(settings.channel_rate_exempt, "CHANNEL_RATE_EXEMPT"),
            parse_networks(settings.trusted_proxies, "TRUSTED_PROXIES"),
        )

    @property
    def enabled(self) -> bool:
        return self.per_second > 0

    def admit(self, peer: str, forwarded_for: Optional[str] = None) -> "Admission":
        """Takes one request from the client's bucket; refused when it is empty."""
        address = client_address(peer, forwarded_for, self.trusted_proxies)
        if address is not None and _within(address, self.exempt):
            return Admission(True, None)
        key = bucket_key(address)
        if not self.enabled:
            return Admission(True, key)
        now = self.clock()
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.updated) * self.per_second)
        bucket.updated = now
        allowed = bucket.tokens >= 1.0
        if allowed:
            bucket.tokens -= 1.0
        first_refusal = not allowed and not bucket.refusing
        bucket.refusing = not allowed
        self._buckets[key] = bucket
        while len(self._buckets) > MAX_TRACKED_ADDRESSES:
            self._buckets.popitem(last=False)
        return Admission(allowed, key, first_refusal)

    def allow(self, peer: str, forwarded_for: Optional[str] = None) -> bool:
        return self.admit(peer, forwarded_for).allowed

    def retry_after(self) -> str:
        """Seconds until one request is allowed again (for the Retry-After header)."""
        return str(max(1, int(1 / self.per_second + 0.999))) if self.enabled else "1"


def forwarded_for(headers: object) -> Optional[str]:
    """All X-Forwarded-For values of a request's headers, joined in order."""
    getall: Optional[Callable[[str], List[str]]] = getattr(headers, "getall", None)
    if getall is not None:
        try:
            values = getall("x-forwarded-for")
        except KeyError:
            return None
        return ",".join(values) if values else None
    get = getattr(headers, "get", None)
    return get("x-forwarded-for") if get is not None else None
