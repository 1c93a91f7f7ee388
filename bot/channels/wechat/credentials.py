"""The channel's block in credentials.yml, validated once at start-up."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Mapping, Optional
from urllib.parse import urlparse

import yaml

# The channel's key in credentials.yml.
CREDENTIALS_KEY = "bot.channels.wechat.channel.WeChatInput"
MODES = ("safe", "compat", "plaintext")
_ENV_VAR = re.compile(r"\$\{([^}]*)\}")
TOKEN_ENDPOINTS = ("stable", "classic")

_TOKEN = re.compile(r"[A-Za-z0-9]{3,32}")  # WeChat's own rule for the server token
_APP_ID = re.compile(r"wx[0-9a-f]{16}")
_INTENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# Ends in ':', which REST's ids cannot hold: no REST client can name a WeChat conversation
# (bot/channels/conversation_ids.py).
_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,14}:")

DEFAULT_MENU_INTENTS: Dict[str, str] = {
    "COMPLAIN": "complain",
    "CLAIM_MATERIALS": "ask_claim_materials",
    "TICKET_STATUS": "check_ticket_status",
    "HUMAN": "request_human",
}


def _number(raw: Mapping[str, Any], name: str, default: float, low: float, high: float) -> float:
    value = raw.get(name, default)
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"wechat: {name} must be a number, got {value!r}") from exc
    if not low <= number <= high:
        raise ValueError(f"wechat: {name} must be between {low} and {high}, got {number}")
    return number


@dataclass(frozen=True)
class WeChatCredentials:
    token: str
    app_id: str
    app_secret: str
    encoding_aes_key: Optional[str] = None
    # safe: only encrypted callbacks (the default); compat: both; plaintext: no encryption.
    mode: str = "safe"
    # Configurable so tests and proxies can stand in for WeChat's API.
    api_base_url: str = "https://api.weixin.qq.com"
    # stable: /cgi-bin/stable_token, one token shared by every replica; classic: /cgi-bin/token.
    token_endpoint: str = "stable"
    api_timeout_seconds: float = 10.0
    # WeChat drops the connection after 5 s; what is not ready by then goes through the API.
    passive_reply_seconds: float = 4.5
    max_body_bytes: int = 64 * 1024
    max_clock_skew_seconds: int = 300
    max_reply_bytes: int = 2048
    subscribe_intent: str = "greet"
    menu_intents: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_MENU_INTENTS))
    sender_prefix: str = "wx:"

    @classmethod
    def from_mapping(cls, raw: Optional[Mapping[str, Any]]) -> "WeChatCredentials":
        raw = raw or {}
        token = str(raw.get("token") or "")
        app_id = str(raw.get("app_id") or "")
        app_secret = str(raw.get("app_secret") or "")
        if not _TOKEN.fullmatch(token):
            raise ValueError("wechat: token must be 3-32 letters or digits (as set in the account's 服务器配置)")
        if not _APP_ID.fullmatch(app_id):
            raise ValueError("wechat: app_id must look like wx followed by 16 hex digits")
        if not app_secret:
            raise ValueError("wechat: app_secret is required")
        mode = str(raw.get("mode") or "safe")
        if mode not in MODES:
            raise ValueError(f"wechat: mode must be one of {', '.join(MODES)}")
        aes_key = raw.get("encoding_aes_key")
        aes_key = str(aes_key) if aes_key else None
        if mode != "plaintext" and not aes_key:
            raise ValueError(f"wechat: encoding_aes_key is required in {mode} mode")
        base_url = str(raw.get("api_base_url") or cls.api_base_url).rstrip("/")
        if urlparse(base_url).scheme not in ("http", "https") or not urlparse(base_url).netloc:
            raise ValueError("wechat: api_base_url must be an http(s) URL")
        token_endpoint = str(raw.get("token_endpoint") or "stable")
        if token_endpoint not in TOKEN_ENDPOINTS:
            raise ValueError(f"wechat: token_endpoint must be one of {', '.join(TOKEN_ENDPOINTS)}")
        menu = raw.get("menu_intents")
        menu = dict(DEFAULT_MENU_INTENTS) if menu is None else dict(menu)
        for key, intent in menu.items():
            if not 0 < len(str(key)) <= 128 or not _INTENT.fullmatch(str(intent)):
                raise ValueError(f"wechat: menu_intents entry {key!r}: {intent!r} is not a menu key and intent name")
        subscribe_intent = str(raw.get("subscribe_intent", "greet") or "")
        if subscribe_intent and not _INTENT.fullmatch(subscribe_intent):
            raise ValueError("wechat: subscribe_intent must be an intent name")
        prefix = str(raw.get("sender_prefix", "wx:"))
        if not _PREFIX.fullmatch(prefix):
            raise ValueError("wechat: sender_prefix must be 2-16 of [A-Za-z0-9_-] ending in ':' (e.g. wx:)")
        return cls(
            token=token,
            app_id=app_id,
            app_secret=app_secret,
            encoding_aes_key=aes_key,
            mode=mode,
            api_base_url=base_url,
            token_endpoint=token_endpoint,
            api_timeout_seconds=_number(raw, "api_timeout_seconds", 10.0, 0.1, 60),
            passive_reply_seconds=_number(raw, "passive_reply_seconds", 4.5, 0.0, 4.8),
            max_body_bytes=int(_number(raw, "max_body_bytes", 64 * 1024, 1024, 1024 * 1024)),
            max_clock_skew_seconds=int(_number(raw, "max_clock_skew_seconds", 300, 1, 3600)),
            max_reply_bytes=int(_number(raw, "max_reply_bytes", 2048, 64, 2048)),
            subscribe_intent=subscribe_intent,
            menu_intents={str(key): str(intent) for key, intent in menu.items()},
            sender_prefix=prefix,
        )

    def sender_id(self, openid: str) -> str:
        return f"{self.sender_prefix}{openid}"

    def openid(self, sender_id: str) -> Optional[str]:
        """The OpenID behind a Rasa sender id, or None if it is not one of ours."""
        if not sender_id.startswith(self.sender_prefix):
            return None
        openid = sender_id[len(self.sender_prefix) :]
        return openid if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", openid) else None


def _expand(value: Any, env: Mapping[str, str]) -> Any:
    """``${VAR}`` in a string replaced from ``env``, as Rasa does when it reads credentials.yml."""
    if isinstance(value, dict):
        return {key: _expand(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [_expand(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def variable(match: "re.Match[str]") -> str:
        name = match.group(1)
        if name not in env:
            raise ValueError(f"wechat: environment variable {name} is not set")
        return env[name]

    return _ENV_VAR.sub(variable, value)


def load_credentials_file(path: Path, env: Mapping[str, str]) -> Optional[WeChatCredentials]:
    """The WeChatInput block of a Rasa credentials file, or None when the channel is not enabled there.

    Raises ValueError when the file cannot be read or the block is invalid.
    """
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"wechat: cannot read {path}: {type(exc).__name__}") from exc
    if not isinstance(raw, dict) or CREDENTIALS_KEY not in raw:
        return None
    block = raw[CREDENTIALS_KEY]
    if block is not None and not isinstance(block, dict):
        raise ValueError(f"wechat: {CREDENTIALS_KEY} in {path} is not a mapping")
    return WeChatCredentials.from_mapping(_expand(block or {}, env))
