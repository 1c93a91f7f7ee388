"""The one place that reads configuration from the environment.

Every setting has a development default so that `make run` works on a fresh
clone; production overrides them through environment variables (see README).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Documented development default; production must set RASA_TOKEN.
DEV_RASA_TOKEN = "dev-token-change-me"


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    database_url: str
    var_dir: Path
    spool_dir: Path
    # Art. 18 of 《银行业保险业消费投诉处理管理办法》: decide within 15 calendar days.
    handling_days: int = 15
    # Insurer-specific; no national format exists (domain-facts §4.3).
    policy_number_pattern: str = r"[A-Z]{1,4}\d{8,20}"
    status_max_attempts: int = 3
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = DEV_RASA_TOKEN
    timezone: str = "Asia/Shanghai"
    contact_promise: str = "工作人员将在1个工作日内通过您留下的手机号与您联系"
    materials_file: Path = field(default=PROJECT_ROOT / "knowledge" / "claim_materials.yml")

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "Settings":
        env = os.environ if env is None else env
        var_dir = Path(env.get("COMPLAINTS_VAR_DIR", str(PROJECT_ROOT / "var")))
        return cls(
            database_url=env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'complaints.db'}",
            var_dir=var_dir,
            spool_dir=Path(env.get("COMPLAINTS_SPOOL_DIR", str(var_dir / "spool"))),
            handling_days=_int(env, "COMPLAINT_HANDLING_DAYS", 15),
            policy_number_pattern=env.get("POLICY_NUMBER_PATTERN") or r"[A-Z]{1,4}\d{8,20}",
            status_max_attempts=_int(env, "STATUS_MAX_ATTEMPTS", 3),
            rasa_url=env.get("RASA_URL", "http://127.0.0.1:5005").rstrip("/"),
            rasa_token=env.get("RASA_TOKEN") or DEV_RASA_TOKEN,
            timezone=env.get("COMPLAINTS_TIMEZONE", "Asia/Shanghai"),
            contact_promise=env.get("COMPLAINT_CONTACT_PROMISE")
            or "工作人员将在1个工作日内通过您留下的手机号与您联系",
        )
