"""A fake of WeChat's server API (api.weixin.qq.com) on loopback.

TEST DOUBLE: WeChat's servers are unreachable from this machine (and must
not receive test traffic), so this aiohttp server stands in for the endpoints the
channel and the notice routes call — access_token (``/cgi-bin/token`` and
``/cgi-bin/stable_token``), ``/cgi-bin/message/custom/send`` and
``/cgi-bin/message/template/send`` — with WeChat's documented answers.
Template sends are checked as WeChat checks them: a known template id and,
in ``data``, only that template's keys, each ``{"value": <text>}``. It records every request and can be told to
answer with error codes or after a delay. It runs in its own thread and event
loop so that both async unit tests and a separate Rasa process can call it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

from aiohttp import web

from bot.launch.ports import free_port


class FakeWeChatApi:
    def __init__(self, app_id: str, app_secret: str, expires_in: int = 7200) -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.expires_in = expires_in
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token_delay = 0.0
        self.send_delay = 0.0
        self._lock = threading.Lock()
        self._token_fetches: List[Dict[str, Any]] = []
        self._sends: List[Dict[str, Any]] = []
        self._send_errors: Deque[Tuple[int, str]] = deque()
        self._template_sends: List[Dict[str, Any]] = []
        # template_id → the keys of its {{key.DATA}} placeholders, as set up in the account's console
        self.templates: Dict[str, Tuple[str, ...]] = {}
        self._valid_tokens: Dict[str, str] = {}  # token → "valid" | "expired"
        self._issued = 0
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._runner: Optional[web.AppRunner] = None
        self._thread: Optional[threading.Thread] = None

    # --- control (from the test's thread) --------------------------------

    def start(self) -> "FakeWeChatApi":
        ready = threading.Event()

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            app = web.Application()
            app.router.add_get("/cgi-bin/token", self._classic_token)
            app.router.add_post("/cgi-bin/stable_token", self._stable_token)
            app.router.add_post("/cgi-bin/message/custom/send", self._custom_send)
            app.router.add_post("/cgi-bin/message/template/send", self._template_send)
            self._runner = web.AppRunner(app)
            self._loop.run_until_complete(self._runner.setup())
            self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
            ready.set()
            self._loop.run_forever()
            pending = asyncio.all_tasks(self._loop)
            for task in pending:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.close()

        self._thread = threading.Thread(target=serve, name="fake-wechat-api", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake WeChat API did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def reset(self) -> None:
        with self._lock:
            self._token_fetches.clear()
            self._sends.clear()
            self._template_sends.clear()
            self.templates.clear()
            self._send_errors.clear()
            self._valid_tokens.clear()
            self.token_delay = self.send_delay = 0.0

    def add_template(self, template_id: str, *keys: str) -> None:
        """The account has chosen this template, with these placeholders."""
        with self._lock:
            self.templates[template_id] = keys

    def fail_next_sends(self, *errors: Tuple[int, str]) -> None:
        """The next sends (客服消息 or template) are answered with these (errcode, errmsg), in order."""
        with self._lock:
            self._send_errors.extend(errors)

    def expire_tokens(self) -> None:
        """Every token issued so far now gets 42001 (access_token expired)."""
        with self._lock:
            for token in self._valid_tokens:
                self._valid_tokens[token] = "expired"

    @property
    def token_fetches(self) -> List[Dict[str, Any]]:
        with self._lock:
            return list(self._token_fetches)

    @property
    def sends(self) -> List[Dict[str, Any]]:
        """Accepted and refused custom/send calls: {"body", "access_token", "errcode"}."""
        with self._lock:
            return list(self._sends)

    @property
    def template_sends(self) -> List[Dict[str, Any]]:
        """Accepted and refused template/send calls: {"body", "access_token", "errcode"}."""
        with self._lock:
            return list(self._template_sends)

    def delivered(self, openid: Optional[str] = None) -> List[str]:
        """Texts WeChat accepted, optionally for one OpenID."""
        return [
            s["body"]["text"]["content"]
            for s in self.sends
            if s["errcode"] == 0 and (openid is None or s["body"].get("touser") == openid)
        ]

    def wait_for(self, condition: Callable[[], bool], timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.05)
        return condition()

    # --- endpoints (in the server's thread) ------------------------------

    def _issue(self, replace: bool) -> str:
        with self._lock:
            if replace:
                # /cgi-bin/token: every fetch replaces the previous token.
                self._valid_tokens.clear()
            current = [t for t, state in self._valid_tokens.items() if state == "valid"]
            if current:
                return current[0]
            self._issued += 1
            token = f"fake-token-{self._issued}"
            self._valid_tokens[token] = "valid"
            return token

    def _credentials_error(self, appid: Any, secret: Any) -> Optional[web.Response]:
        if appid != self.app_id:
            return web.json_response({"errcode": 40013, "errmsg": "invalid appid"})
        if secret != self.app_secret:
            return web.json_response({"errcode": 40125, "errmsg": "invalid appsecret"})
        return None

    async def _classic_token(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        with self._lock:
            self._token_fetches.append({"endpoint": "token", "params": params})
        await asyncio.sleep(self.token_delay)
        error = self._credentials_error(params.get("appid"), params.get("secret"))
        if error is not None or params.get("grant_type") != "client_credential":
            return error or web.json_response({"errcode": 40002, "errmsg": "invalid grant_type"})
        return web.json_response({"access_token": self._issue(replace=True), "expires_in": self.expires_in})

    async def _stable_token(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        with self._lock:
            self._token_fetches.append({"endpoint": "stable_token", "body": body})
        await asyncio.sleep(self.token_delay)
        error = self._credentials_error(body.get("appid"), body.get("secret"))
        if error is not None:
            return error
        return web.json_response(
            {"access_token": self._issue(replace=bool(body.get("force_refresh"))), "expires_in": self.expires_in}
        )

    async def _custom_send(self, request: web.Request) -> web.Response:
        raw = await request.read()
        token = request.query.get("access_token", "")
        body = json.loads(raw.decode("utf-8"))
        await asyncio.sleep(self.send_delay)
        with self._lock:
            state = self._valid_tokens.get(token)
            if state is None:
                answer = (40001, "invalid credential, access_token is invalid or not latest")
            elif state == "expired":
                answer = (42001, "access_token expired")
            elif self._send_errors:
                answer = self._send_errors.popleft()
            else:
                answer = (0, "ok")
            self._sends.append(
                {"body": body, "access_token": token, "errcode": answer[0], "raw_has_escapes": b"\\u" in raw}
            )
        return web.json_response({"errcode": answer[0], "errmsg": answer[1]})

    async def _template_send(self, request: web.Request) -> web.Response:
        raw = await request.read()
        token = request.query.get("access_token", "")
        body = json.loads(raw.decode("utf-8"))
        with self._lock:
            state = self._valid_tokens.get(token)
            if state is None:
                answer = (40001, "invalid credential, access_token is invalid or not latest")
            elif state == "expired":
                answer = (42001, "access_token expired")
            else:
                answer = self._template_error(body) or (self._send_errors.popleft() if self._send_errors else (0, "ok"))
            self._template_sends.append({"body": body, "access_token": token, "errcode": answer[0]})
            msgid = len(self._template_sends)
        reply: Dict[str, Any] = {"errcode": answer[0], "errmsg": answer[1]}
        if answer[0] == 0:
            reply["msgid"] = msgid
        return web.json_response(reply)

    def _template_error(self, body: Any) -> Optional[Tuple[int, str]]:
        """WeChat's answer to a malformed template send, or None (called with the lock held)."""
        if not isinstance(body, dict) or not isinstance(body.get("touser"), str) or not body["touser"]:
            return (40003, "invalid openid")
        keys = self.templates.get(body.get("template_id"))  # type: ignore[arg-type]
        if keys is None:
            return (40037, "invalid template_id")
        data = body.get("data")
        if not isinstance(data, dict) or not data:
            return (47003, "argument invalid! data invalid")
        for key, entry in data.items():
            if key not in keys or not isinstance(entry, dict) or not isinstance(entry.get("value"), str):
                return (47003, f"argument invalid! data.{key}.value invalid")
        if "url" in body and not str(body["url"]).startswith(("http://", "https://")):
            return (47003, "argument invalid! url invalid")
        return None
