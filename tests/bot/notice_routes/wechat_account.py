"""A credentials file naming the fake WeChat API, and notices for one follower."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict

from bot.channels.wechat.inbox import Inbox
from bot.db import Database
from tests.bot.channels.wechat.callbacks import APP_ID, TOKEN

OPENID = "oNoticeFollower0123456789ab"
CONVERSATION = f"wx:{OPENID}"
SECRET_VARIABLE = "TEST_WECHAT_APP_SECRET"


def write_credentials(directory: Path, api_url: str, timeout_seconds: float = 5) -> Path:
    """A Rasa credentials file whose WeChatInput block points at ``api_url``, its secret as a ${VAR}."""
    path = directory / "credentials.yml"
    path.write_text(
        "rest:\n"
        "bot.channels.wechat.channel.WeChatInput:\n"
        f"  token: {TOKEN}\n"
        f"  app_id: {APP_ID}\n"
        f"  app_secret: ${{{SECRET_VARIABLE}}}\n"
        "  mode: plaintext\n"
        f"  api_base_url: {api_url}\n"
        f"  api_timeout_seconds: {timeout_seconds}\n",
        encoding="utf-8",
    )
    return path


def notice_fields(**extra: Any) -> Dict[str, Any]:
    fields = {"ticket_no": "TS20261206000123", "kind_label": "处理结果", "deadline": "2026年12月21日"}
    fields.update(extra)
    return fields


def user_wrote(db: Database, hours_ago: float) -> None:
    """The follower's last message reached the webhook this long ago."""
    at = datetime.now(timezone.utc) - timedelta(hours=hours_ago)
    Inbox(db, clock=lambda: at).claim(f"msg|gh|{hours_ago}", OPENID, f"{int(hours_ago * 1000):040d}")
