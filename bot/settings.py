"""The one place that reads configuration from the environment.

Every setting has a development default so that `make run` works on a fresh
clone; production overrides them through environment variables (see README).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional
from urllib.parse import quote

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


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return value


def _bounded(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    value = _int(env, name, default)
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    database_url: str
    var_dir: Path
    spool_dir: Path
    # Art. 18 of 《银行业保险业消费投诉处理管理办法》: decide within 15 calendar days, 30 when
    # complex, plus up to 30 more with a supervisor's approval; being revised, so configurable.
    handling_days: int = 15
    complex_deadline_days: int = 30
    max_extension_days: int = 30
    due_soon_days: int = 3
    # Failed calls to a 留言 before the ticket is marked unreachable and a supervisor alerted.
    callback_max_failed_attempts: int = 3
    # Categories, sub-reasons and the 结案 root-cause categories (bot/taxonomy.py, bot/step_content.py).
    taxonomy_file: Path = field(default=PROJECT_ROOT / "knowledge" / "complaint_taxonomy.yml")
    # Branches responsible for a ticket, by policy-number prefix and phone province (bot/regions.py).
    branches_file: Path = field(default=PROJECT_ROOT / "knowledge" / "branches.yml")
    # Insurer-specific; no national format exists (domain-facts §4.3).
    policy_number_pattern: str = r"[A-Z]{1,4}\d{8,20}"
    status_max_attempts: int = 3
    # The complaint analysis counts a complaint as a repeat when the same phone complained within these days.
    repeat_complaint_days: int = 30
    # The Chromium that prints the complaint report as PDF (bot/analysis/printing.py).
    report_chromium: Path = field(default=Path("/usr/bin/chromium"))
    export_max_rows: int = 200_000
    # Failed status look-ups (or withdrawals) allowed per ticket number, per phone
    # number and per client address, counted across all conversations within the window.
    status_lock_window_minutes: int = 1440
    status_max_failures_per_ticket: int = 5
    status_max_failures_per_phone: int = 5
    status_max_failures_per_client: int = 20
    # Requests per client address on the REST and web chat channels
    # (bot/channels/rate_limit.py): a burst, refilled per minute (0: no limit);
    # addresses never limited (an app's backend relaying many users); proxies
    # whose X-Forwarded-For is believed (the nginx in front of Rasa).
    channel_rate_per_minute: int = 60
    channel_rate_burst: int = 30
    channel_rate_exempt: str = ""
    trusted_proxies: str = ""
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = DEV_RASA_TOKEN
    timezone: str = "Asia/Shanghai"
    contact_promise: str = "工作人员将在1个工作日内通过您留下的手机号与您联系"
    materials_file: Path = field(default=PROJECT_ROOT / "knowledge" / "claim_materials.yml")
    # Reviewed replies an agent can insert in a live conversation (bot/desk).
    reply_templates_file: Path = field(default=PROJECT_ROOT / "knowledge" / "reply_templates.yml")
    # The reviewed personal-information notice shown before the first personal question.
    privacy_notice_file: Path = field(default=PROJECT_ROOT / "knowledge" / "privacy_notice.yml")
    # Agent desk: when humans answer, when an agent counts as online, when an
    # untouched conversation goes back to the queue.
    service_hours: str = "09:00-21:00"
    service_days: str = "1-7"  # ISO weekdays, e.g. "1-5" or "1,2,3,4,5,6"
    agent_presence_seconds: int = 90
    agent_idle_minutes: int = 15
    # Chat channels: a message sent this soon after the previous one waits as long
    # for more, and the burst is answered as one turn (bot/channels/bursts.py; 0: off).
    burst_window_ms: int = 1200
    desk_secure_cookies: bool = False
    # Servers: the address `make run`'s servers listen on (loopback unless set),
    # the action server's shared secret (generated under var/keys/ when unset;
    # bot/rasa/action_server.py) and logging (bot/logs.py).
    bind_host: str = "127.0.0.1"
    action_server_token: str = field(default="", repr=False)
    log_level: str = "INFO"
    log_dir: Optional[Path] = None
    # Production topology (docs/production.md): Rasa publishes tracker events to
    # this RabbitMQ exchange and queue; `python -m bot analytics consume` reads them.
    rabbitmq_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    events_exchange: str = "complaints_events"
    analytics_queue: str = "complaints_analytics"
    # Rasa's conversations (the `events` table), for retention and data subject requests.
    tracker_database_url: str = ""
    # Retention (bot/retention.py). Trackers: days after a conversation's last event,
    # or after a WeChat unfollow. Tickets with their audit trail: years after closing;
    # Art. 28 of Order 2020/3 requires an archive kept for the legal period, and
    # Insurance Law Art. 26 allows claims for 5 years (life): compliance confirms.
    retention_tracker_days: int = 180
    retention_unfollowed_days: int = 30
    retention_ticket_years: int = 5
    retention_status_lookup_days: int = 30
    retention_wechat_inbox_days: int = 2
    # Notices on WeChat (bot/notice_routes/wechat.py, docs/wechat.md): the account's credentials are
    # read from this file's WeChatInput block (the same one Rasa reads); outside the 48-hour window a
    # template message: its id, which notice field fills which template key, the longest value, the link
    # (WECHAT_TEMPLATE_URL, else the public chat page CHAT_PAGE_URL; neither: a card without a link).
    wechat_credentials_file: Path = field(default=PROJECT_ROOT / "credentials.yml")
    wechat_template_id: str = ""
    wechat_template_fields: str = "keyword1=ticket_no,keyword2=kind_label,keyword3=deadline"
    wechat_template_value_chars: int = 20
    wechat_template_url: str = ""
    # Notices by SMS through Alibaba Cloud (bot/notice_routes/sms.py, docs/sms.md): disabled unless
    # the keys, sign name and template code are all set; which notice field fills which template variable.
    sms_access_key_id: str = field(default="", repr=False)
    sms_access_key_secret: str = field(default="", repr=False)
    sms_sign_name: str = ""
    sms_template_code: str = ""
    sms_template_fields: str = "ticket_no=ticket_no,kind=kind_label,deadline=deadline"
    sms_endpoint: str = "https://dysmsapi.aliyuncs.com"
    sms_timeout_seconds: int = 10
    # The public address of the chat page (e.g. https://kf.example.com/webhooks/web/): SMS notices carry a
    # signed link to it that opens the notice and its rating question (bot/notice_links.py); empty: no link.
    # A link stays valid NOTICE_LINK_DAYS days (Art. 20: 核查 may be asked for within 30 days).
    chat_page_url: str = ""
    notice_link_days: int = 30
    # Notices to complainants (bot/notices.py, bot/notice_sender.py): the reviewed texts; the
    # retry delay doubles from NOTICE_RETRY_SECONDS up to NOTICE_RETRY_MAX_SECONDS; after
    # NOTICE_MAX_ATTEMPTS failures on a route the sender falls back to SMS, then gives up with an
    # alert; a claimed notice is hidden from other senders for NOTICE_CLAIM_SECONDS (a sender that
    # dies mid-send leaves it to the next one after that).
    notice_templates_file: Path = field(default=PROJECT_ROOT / "knowledge" / "notice_templates.yml")
    notice_retry_seconds: int = 30
    notice_retry_max_seconds: int = 3600
    notice_max_attempts: int = 5
    notice_claim_seconds: int = 120

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "Settings":
        env = os.environ if env is None else env
        var_dir = Path(env.get("COMPLAINTS_VAR_DIR", str(PROJECT_ROOT / "var")))
        return cls(
            database_url=env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'complaints.db'}",
            var_dir=var_dir,
            spool_dir=Path(env.get("COMPLAINTS_SPOOL_DIR", str(var_dir / "spool"))),
            handling_days=_positive(env, "TICKET_DEADLINE_DAYS", _positive(env, "COMPLAINT_HANDLING_DAYS", 15)),
            complex_deadline_days=_positive(env, "TICKET_COMPLEX_DEADLINE_DAYS", 30),
            max_extension_days=_bounded(env, "TICKET_MAX_EXTENSION_DAYS", 30, 0, 365),
            due_soon_days=_bounded(env, "TICKET_DUE_SOON_DAYS", 3, 0, 365),
            callback_max_failed_attempts=_positive(env, "CALLBACK_MAX_FAILED_ATTEMPTS", 3),
            reply_templates_file=Path(
                env.get("REPLY_TEMPLATES_FILE") or PROJECT_ROOT / "knowledge" / "reply_templates.yml"
            ),
            taxonomy_file=Path(
                env.get("COMPLAINT_TAXONOMY_FILE") or PROJECT_ROOT / "knowledge" / "complaint_taxonomy.yml"
            ),
            branches_file=Path(env.get("BRANCHES_FILE") or PROJECT_ROOT / "knowledge" / "branches.yml"),
            policy_number_pattern=env.get("POLICY_NUMBER_PATTERN") or r"[A-Z]{1,4}\d{8,20}",
            status_max_attempts=_int(env, "STATUS_MAX_ATTEMPTS", 3),
            repeat_complaint_days=_bounded(env, "REPEAT_COMPLAINT_DAYS", 30, 1, 366),
            report_chromium=Path(env.get("REPORT_CHROMIUM") or "/usr/bin/chromium"),
            export_max_rows=_bounded(env, "EXPORT_MAX_ROWS", 200_000, 1, 2_000_000),
            status_lock_window_minutes=_int(env, "STATUS_LOCK_WINDOW_MINUTES", 1440),
            status_max_failures_per_ticket=_int(env, "STATUS_MAX_FAILURES_PER_TICKET", 5),
            status_max_failures_per_phone=_int(env, "STATUS_MAX_FAILURES_PER_PHONE", 5),
            status_max_failures_per_client=_int(env, "STATUS_MAX_FAILURES_PER_CLIENT", 20),
            channel_rate_per_minute=_int(env, "CHANNEL_RATE_PER_MINUTE", 60),
            channel_rate_burst=_int(env, "CHANNEL_RATE_BURST", 30),
            channel_rate_exempt=env.get("CHANNEL_RATE_EXEMPT") or "",
            trusted_proxies=env.get("TRUSTED_PROXIES") or "",
            rasa_url=env.get("RASA_URL", "http://127.0.0.1:5005").rstrip("/"),
            rasa_token=env.get("RASA_TOKEN") or DEV_RASA_TOKEN,
            timezone=env.get("COMPLAINTS_TIMEZONE", "Asia/Shanghai"),
            privacy_notice_file=Path(
                env.get("PRIVACY_NOTICE_FILE") or PROJECT_ROOT / "knowledge" / "privacy_notice.yml"
            ),
            contact_promise=env.get("COMPLAINT_CONTACT_PROMISE") or "工作人员将在1个工作日内通过您留下的手机号与您联系",
            service_hours=env.get("SERVICE_HOURS") or "09:00-21:00",
            service_days=env.get("SERVICE_DAYS") or "1-7",
            agent_presence_seconds=_int(env, "AGENT_PRESENCE_SECONDS", 90),
            agent_idle_minutes=_int(env, "AGENT_IDLE_MINUTES", 15),
            burst_window_ms=_int(env, "BURST_WINDOW_MS", 1200),
            desk_secure_cookies=env.get("DESK_SECURE_COOKIES", "").lower() in ("1", "true", "yes"),
            bind_host=(env.get("BIND_HOST") or "127.0.0.1").strip(),
            action_server_token=(env.get("ACTION_SERVER_TOKEN") or "").strip(),
            log_level=(env.get("LOG_LEVEL") or "INFO").strip().upper(),
            log_dir=Path(env["LOG_DIR"]) if (env.get("LOG_DIR") or "").strip() else None,
            # The same variables as endpoints.production.yml's event_broker.
            rabbitmq_url="amqp://{}:{}@{}:{}/".format(
                quote(env.get("RABBITMQ_USERNAME") or "guest", safe=""),
                quote(env.get("RABBITMQ_PASSWORD") or "guest", safe=""),
                env.get("RABBITMQ_HOST") or "127.0.0.1",
                _int(env, "RABBITMQ_PORT", 5672),
            ),
            events_exchange=env.get("EVENTS_EXCHANGE") or "complaints_events",
            analytics_queue=env.get("ANALYTICS_QUEUE") or "complaints_analytics",
            tracker_database_url=env.get("TRACKER_DATABASE_URL") or f"sqlite:///{var_dir / 'tracker.db'}",
            retention_tracker_days=_positive(env, "RETENTION_TRACKER_DAYS", 180),
            retention_unfollowed_days=_positive(env, "RETENTION_UNFOLLOWED_DAYS", 30),
            retention_ticket_years=_positive(env, "RETENTION_TICKET_YEARS", 5),
            retention_status_lookup_days=_positive(env, "RETENTION_STATUS_LOOKUP_DAYS", 30),
            retention_wechat_inbox_days=_positive(env, "RETENTION_WECHAT_INBOX_DAYS", 2),
            wechat_credentials_file=Path(
                (env.get("WECHAT_CREDENTIALS_FILE") or "").strip() or PROJECT_ROOT / "credentials.yml"
            ),
            wechat_template_id=(env.get("WECHAT_TEMPLATE_ID") or "").strip(),
            wechat_template_fields=(env.get("WECHAT_TEMPLATE_FIELDS") or "").strip()
            or "keyword1=ticket_no,keyword2=kind_label,keyword3=deadline",
            wechat_template_value_chars=_bounded(env, "WECHAT_TEMPLATE_VALUE_CHARS", 20, 5, 200),
            wechat_template_url=(env.get("WECHAT_TEMPLATE_URL") or env.get("CHAT_PAGE_URL") or "").strip(),
            sms_access_key_id=(env.get("ALIBABA_CLOUD_ACCESS_KEY_ID") or "").strip(),
            sms_access_key_secret=(env.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET") or "").strip(),
            sms_sign_name=(env.get("ALIBABA_SMS_SIGN_NAME") or "").strip(),
            sms_template_code=(env.get("ALIBABA_SMS_TEMPLATE_CODE") or "").strip(),
            sms_template_fields=(env.get("ALIBABA_SMS_TEMPLATE_FIELDS") or "").strip()
            or "ticket_no=ticket_no,kind=kind_label,deadline=deadline",
            sms_endpoint=(env.get("ALIBABA_SMS_ENDPOINT") or "").strip() or "https://dysmsapi.aliyuncs.com",
            sms_timeout_seconds=_bounded(env, "ALIBABA_SMS_TIMEOUT_SECONDS", 10, 1, 60),
            chat_page_url=(env.get("CHAT_PAGE_URL") or "").strip(),
            notice_link_days=_bounded(env, "NOTICE_LINK_DAYS", 30, 1, 365),
            notice_templates_file=Path(
                env.get("NOTICE_TEMPLATES_FILE") or PROJECT_ROOT / "knowledge" / "notice_templates.yml"
            ),
            notice_retry_seconds=_bounded(env, "NOTICE_RETRY_SECONDS", 30, 1, 86400),
            notice_retry_max_seconds=_bounded(env, "NOTICE_RETRY_MAX_SECONDS", 3600, 1, 7 * 86400),
            notice_max_attempts=_bounded(env, "NOTICE_MAX_ATTEMPTS", 5, 1, 100),
            notice_claim_seconds=_bounded(env, "NOTICE_CLAIM_SECONDS", 120, 10, 86400),
        )
