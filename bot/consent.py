"""The personal-information notice and the separate consent for health details (PIPL Arts. 17, 28, 29)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Tuple

import yaml

from bot.settings import Settings

GRANTED = "granted"
REFUSED = "refused"


class NoticeFileError(ValueError):
    """The reviewed notice file is missing a field or malformed."""


@dataclass(frozen=True)
class PrivacyNotice:
    version: str
    reviewed_by: str
    reviewed_on: str
    full_text_url: str
    summary: str
    health_consent_question: str
    health_consent_refused: str
    health_details_still_present: str
    health_terms: Tuple[str, ...]
    full_text: str

    def short_text(self, settings: Settings) -> str:
        """What the bot shows before the first personal question."""
        return self._filled(self.summary, settings)

    def full_rules(self, settings: Settings) -> str:
        """The full rules the short text links to."""
        return self._filled(self.full_text, settings)

    def _filled(self, text: str, settings: Settings) -> str:
        values = {
            "full_text_url": self.full_text_url,
            "tracker_days": settings.retention_tracker_days,
            "unfollowed_days": settings.retention_unfollowed_days,
            "ticket_years": settings.retention_ticket_years,
        }
        for name, value in values.items():
            text = text.replace("{" + name + "}", str(value))
        return text

    def mentions_health(self, text: str) -> bool:
        """True when the text carries health details that need separate consent."""
        return any(term in text for term in self.health_terms)


def parse(raw: Mapping) -> PrivacyNotice:
    fields: Dict[str, Any] = {}
    for name in PrivacyNotice.__dataclass_fields__:
        value = raw.get(name) if isinstance(raw, Mapping) else None
        if value in (None, "", []):
            raise NoticeFileError(f"privacy notice: '{name}' is missing")
        fields[name] = value
    if not isinstance(fields["health_terms"], list) or not all(
        isinstance(term, str) and term for term in fields["health_terms"]
    ):
        raise NoticeFileError("privacy notice: 'health_terms' must be a list of words")
    fields["health_terms"] = tuple(fields["health_terms"])
    values: Dict[str, Any] = {k: v if k == "health_terms" else str(v) for k, v in fields.items()}
    return PrivacyNotice(**values)


def load(path: Path) -> PrivacyNotice:
    with path.open(encoding="utf-8") as handle:
        return parse(yaml.safe_load(handle))
