"""A browser-like client of the desk, and the password every test agent has."""

from __future__ import annotations

import re

import requests

PASSWORD = "a-long-password"
# The ticket form of a conversation, filled in as an agent would.
TICKET_FORM = {
    "category": "claims",
    "complainant_name": "张三",
    "phone_number": "13812345678",
    "description": "理赔申请两个月没有结果",
    "customer_request": "尽快赔付",
}


class DeskClient:
    """A browser-like client: cookie jar, CSRF token read from the page."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.csrf = ""

    def login(self, username: str, password: str = PASSWORD) -> "DeskClient":
        response = self.http.post(f"{self.url}/login", data={"username": username, "password": password}, timeout=10)
        match = re.search(r'name="csrf-token" content="([^"]+)"', response.text)
        assert match, f"login of {username} failed: {response.status_code}"
        self.csrf = match.group(1)
        return self

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.http.get(f"{self.url}{path}", timeout=10, allow_redirects=False, **kwargs)

    def post(self, path: str, json=None, csrf: bool = True, **kwargs) -> requests.Response:
        headers = {"X-CSRF-Token": self.csrf} if csrf else {}
        return self.http.post(
            f"{self.url}{path}", json=json, headers=headers, timeout=10, allow_redirects=False, **kwargs
        )
