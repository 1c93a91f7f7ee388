"""HTTP clients speaking from loopback addresses other than 127.0.0.1, which the
test servers exempt from the channels' per-address rate limit."""

from __future__ import annotations

import random

import requests
from requests.adapters import HTTPAdapter


class SourceAddress(HTTPAdapter):
    """Connects from the given local address."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs) -> None:
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def fresh_address() -> str:
    """A random 127.x.y.z other than 127.0.0.1 (Linux answers on all of 127.0.0.0/8)."""
    return f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


def client_at(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", SourceAddress(address))
    return session
