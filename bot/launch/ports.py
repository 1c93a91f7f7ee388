"""Free ports for servers started side by side, and whether something answers at an address."""

from __future__ import annotations

import socket
from typing import Tuple

from bot.launch.commands import LOOPBACK


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now (the caller binds it soon after)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def reachable(address: Tuple[str, int], timeout: float = 2.0) -> bool:
    """Whether a TCP connection to `address` succeeds."""
    try:
        socket.create_connection(address, timeout=timeout).close()
        return True
    except OSError:
        return False
