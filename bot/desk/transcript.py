"""A conversation as the agent reads it, from Rasa's tracker events."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, Iterable, List, Optional

from bot.privacy import mask_text


@dataclass(frozen=True)
class Line:
    seq: int  # index of the event in the tracker: the cursor for live updates
    role: str  # user | bot | agent | system
    text: str
    at: float
    agent_name: Optional[str] = None

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


_SYSTEM_EVENTS = {"pause": "会话已转人工，机器人暂停回复", "resume": "会话已交回机器人"}


def transcript(events: Iterable[Dict[str, Any]], after: int = -1) -> List[Line]:
    """User, bot and agent messages and pause/resume markers, in order.

    Phone and ID numbers are masked: the desk shows them only where an agent
    asks for them on the ticket, and that is audited.
    """
    lines = []
    for seq, event in enumerate(events):
        if seq <= after:
            continue
        kind, at = event.get("event"), float(event.get("timestamp") or 0)
        if kind == "user" and event.get("text"):
            # A pressed button is shown by its title, as the policyholder saw it (the web channel records it).
            title = (event.get("metadata") or {}).get("button_title")
            shown = title if isinstance(title, str) and title else event["text"]
            lines.append(Line(seq, "user", mask_text(shown), at))
        elif kind == "bot" and event.get("text"):
            agent = (event.get("metadata") or {}).get("agent")
            if isinstance(agent, dict):
                lines.append(Line(seq, "agent", mask_text(event["text"]), at, str(agent.get("name", ""))))
            else:
                lines.append(Line(seq, "bot", mask_text(event["text"]), at))
        elif kind in _SYSTEM_EVENTS:
            lines.append(Line(seq, "system", _SYSTEM_EVENTS[kind], at))
    return lines
