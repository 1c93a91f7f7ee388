"""A fake of Alibaba Cloud SMS (dysmsapi.aliyuncs.com, SendSms) on loopback.

TEST DOUBLE: Alibaba Cloud cannot be reached from this machine (and must not receive test traffic), so
this aiohttp server stands in for it. It checks each request as the real service does, by Alibaba's
documented V3 signature (ACS3-HMAC-SHA256, the scheme the installed SDK uses): the canonical request
is rebuilt here from what arrived on the wire, hashed and signed with the account's secret, and must
match the Authorization header; the payload hash, date and nonce are checked too. It then checks the
SendSms parameters against an approved sign name and template, records the messages it accepts, and
can be told to answer the next requests with error codes, or to answer late (after accepting).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import threading
from collections import deque
from datetime import datetime, timedelta, timezone
from typing import Any, Deque, Dict, List, Optional, Set, Tuple
from urllib.parse import parse_qsl, quote

from aiohttp import web

from bot.launch.ports import free_port

ALGORITHM = "ACS3-HMAC-SHA256"
# Headers the service requires to be signed (every x-acs-* header present must be signed as well).
REQUIRED_SIGNED = {"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce"}
MAX_CLOCK_SKEW = timedelta(minutes=15)
MAX_VARIABLE_CHARS = 35
_AUTHORIZATION = re.compile(rf"{ALGORITHM} Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]{{64}})")


def _encode(text: str) -> str:
    """RFC 3986 percent-encoding of UTF-8: only A-Z a-z 0-9 - _ . ~ stay as they are (space is %20)."""
    return quote(text, safe="-_.~", encoding="utf-8")


def canonical_request(
    method: str, path: str, query: List[Tuple[str, str]], headers: Dict[str, str], signed: List[str], payload_hash: str
) -> str:
    """Alibaba's V3 canonical request, from the documentation's definition."""
    canonical_query = "&".join(f"{name}={value}" for name, value in sorted((_encode(k), _encode(v)) for k, v in query))
    canonical_headers = "".join(f"{name}:{headers[name].strip()}\n" for name in signed)
    canonical_uri = quote(path or "/", safe="/-_.~", encoding="utf-8")
    return "\n".join([method, canonical_uri, canonical_query, canonical_headers, ";".join(signed), payload_hash])


class FakeAlibabaSms:
    def __init__(self, access_key_id: str, access_key_secret: str, sign_name: str) -> None:
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_name = sign_name
        # template code → its variables, as approved in the console
        self.templates: Dict[str, Tuple[str, ...]] = {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.answer_delay = 0.0  # seconds between accepting a request and answering it
        self._lock = threading.Lock()
        self._requests: List[Dict[str, Any]] = []
        self._messages: List[Dict[str, Any]] = []
        self._answers: Deque[str] = deque()
        self._nonces: Set[str] = set()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._runner: Optional[web.AppRunner] = None
        self._thread: Optional[threading.Thread] = None

    # --- control (from the test's thread) --------------------------------

    def start(self) -> "FakeAlibabaSms":
        ready = threading.Event()

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            app = web.Application()
            app.router.add_route("*", "/", self._api)
            self._runner = web.AppRunner(app)
            self._loop.run_until_complete(self._runner.setup())
            self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
            ready.set()
            self._loop.run_forever()
            self._loop.close()

        self._thread = threading.Thread(target=serve, name="fake-alibaba-sms", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake Alibaba Cloud SMS did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._messages.clear()
            self._answers.clear()
            self.templates.clear()
            self.answer_delay = 0.0

    def add_template(self, code: str, *variables: str) -> None:
        with self._lock:
            self.templates[code] = variables

    def answer_next(self, *codes: str) -> None:
        """The next well-signed SendSms requests are answered with these Codes (HTTP 200), in order."""
        with self._lock:
            self._answers.extend(codes)

    @property
    def requests(self) -> List[Dict[str, Any]]:
        """Every request: {"params", "outcome"} where outcome is OK or the error Code answered."""
        with self._lock:
            return list(self._requests)

    @property
    def messages(self) -> List[Dict[str, Any]]:
        """SendSms requests accepted: their parameters, TemplateParam decoded."""
        with self._lock:
            return list(self._messages)

    # --- the endpoint (in the server's thread) ---------------------------

    async def _api(self, request: web.Request) -> web.Response:
        body = await request.read()
        query = parse_qsl(request.rel_url.raw_query_string, keep_blank_values=True)
        params = dict(query)
        with self._lock:
            refusal = self._authenticate(request, query, body)
            if refusal is not None:
                status, code = refusal
            else:
                status, code = 200, self._answers.popleft() if self._answers else self._check(params)
            self._requests.append({"params": params, "outcome": code})
            if code == "OK":
                self._messages.append({**params, "TemplateParam": json.loads(params["TemplateParam"])})
            count = len(self._requests)
        await asyncio.sleep(self.answer_delay)
        answer = {"Code": code, "Message": "OK" if code == "OK" else f"fake refusal {code}", "RequestId": f"R{count}"}
        if code == "OK":
            answer["BizId"] = f"{count:06d}^0"
        return web.json_response(answer, status=status)

    def _authenticate(
        self, request: web.Request, query: List[Tuple[str, str]], body: bytes
    ) -> Optional[Tuple[int, str]]:
        """(HTTP status, Code) refusing the request, or None if it is signed with the account's secret."""
        match = _AUTHORIZATION.fullmatch(request.headers.get("Authorization", ""))
        if match is None:
            return 400, "IncompleteSignature"
        access_key_id, signed_headers, signature = match.groups()
        if access_key_id != self.access_key_id:
            return 404, "InvalidAccessKeyId.NotFound"
        headers = {name.lower(): value for name, value in request.headers.items()}
        signed = signed_headers.split(";")
        present_acs = {name for name in headers if name.startswith("x-acs-")}
        if signed != sorted(signed) or not (REQUIRED_SIGNED | present_acs) <= set(signed):
            return 400, "IncompleteSignature"
        if not all(name in headers for name in signed):
            return 400, "IncompleteSignature"
        payload_hash = hashlib.sha256(body).hexdigest()
        if not hmac.compare_digest(headers["x-acs-content-sha256"], payload_hash):
            return 400, "SignatureDoesNotMatch"
        try:
            sent_at = datetime.strptime(headers["x-acs-date"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            return 400, "InvalidTimeStamp.Format"
        if abs(datetime.now(timezone.utc) - sent_at) > MAX_CLOCK_SKEW:
            return 400, "InvalidTimeStamp.Expired"
        canonical = canonical_request(request.method, request.rel_url.raw_path, query, headers, signed, payload_hash)
        string_to_sign = f"{ALGORITHM}\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"
        expected = hmac.new(self.access_key_secret.encode(), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return 400, "SignatureDoesNotMatch"
        nonce = headers["x-acs-signature-nonce"]
        if nonce in self._nonces:
            return 400, "SignatureNonceUsed"
        self._nonces.add(nonce)
        if headers.get("x-acs-action") != "SendSms" or headers.get("x-acs-version") != "2017-05-25":
            return 400, "InvalidAction.NotFound"
        return None

    def _check(self, params: Dict[str, str]) -> str:
        """SendSms's own checks: the Code it answers."""
        if not re.fullmatch(r"1\d{10}", params.get("PhoneNumbers", "")):
            return "isv.MOBILE_NUMBER_ILLEGAL"
        if params.get("SignName") != self.sign_name:
            return "isv.SMS_SIGNATURE_ILLEGAL"
        variables = self.templates.get(params.get("TemplateCode", ""))
        if variables is None:
            return "isv.SMS_TEMPLATE_ILLEGAL"
        try:
            values = json.loads(params.get("TemplateParam", ""))
        except ValueError:
            return "isv.INVALID_JSON_PARAM"
        if not isinstance(values, dict) or not set(variables) <= set(values):
            return "isv.TEMPLATE_MISSING_PARAMETERS"
        if any(not isinstance(value, str) or len(value) > MAX_VARIABLE_CHARS for value in values.values()):
            return "isv.PARAM_LENGTH_LIMIT"
        return "OK"
