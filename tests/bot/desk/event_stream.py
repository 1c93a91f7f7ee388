"""A desk client's server-sent event stream, read chunk by chunk as it arrives."""

from __future__ import annotations

import json
from typing import List, Tuple

import requests

from tests.bot.desk.client import DeskClient

ENDS_WITHIN = 8.0  # seconds; the stream checks every second and keeps alive every 20


class EventStream:
    """One open stream of a desk client, read chunk by chunk as it arrives."""

    def __init__(self, client: DeskClient, path: str) -> None:
        self.response = client.http.get(f"{client.url}{path}", stream=True, timeout=(5, ENDS_WITHIN))
        assert self.response.status_code == 200, self.response.text
        self.chunks = self.response.iter_content(chunk_size=None)
        self.text = ""

    def first_event(self) -> str:
        while "\n\n" not in self.text:
            self.text += next(self.chunks).decode()
        return self.text

    def rest(self) -> Tuple[List[dict], List[dict], bool]:
        """(data events, end events, whether the stream closed) until it closes or goes quiet."""
        start, closed = len(self.text), False
        try:
            for chunk in self.chunks:
                self.text += chunk.decode()
            closed = True
        except requests.ConnectionError:  # read timeout: still open
            pass
        finally:
            self.response.close()
        data, ends = [], []
        for block in self.text[start:].split("\n\n"):
            lines = block.strip().splitlines()
            payload = [line[6:] for line in lines if line.startswith("data: ")]
            if payload:
                (ends if "event: end" in lines else data).append(json.loads(payload[0]))
        return data, ends, closed
