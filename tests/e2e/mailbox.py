"""What reached a policyholder on the REST channel: its mailbox, read as the client reads it."""

from __future__ import annotations

import time
from typing import List

import requests

from tests.assistant import Assistant


def mailbox(assistant: Assistant, sender: str, after: float) -> List[dict]:
    response = requests.post(
        f"{assistant.url}/webhooks/rest/messages",
        headers=assistant.rest_headers(sender),
        json={"sender": sender, "after": after},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["messages"]


def wait_for_message(assistant: Assistant, sender: str, after: float, contains: str) -> dict:
    deadline = time.time() + 30
    while time.time() < deadline:
        for message in mailbox(assistant, sender, after):
            if contains in message["text"]:
                return message
        time.sleep(0.5)
    raise AssertionError(f"{contains!r} never reached {sender}: {mailbox(assistant, sender, after)}")
