"""What each step of the lifecycle must record before the ticket moves on, and how it is checked.

A ticket's status is the step being worked. Leaving a step needs its content:
调查 its findings (核实情况), 处理 the decision, its basis and the outcome
(Art. 19), 反馈 the result notice, 跟进 whether the complainant was reached
(and if so whether satisfied); reaching 结案 needs the root cause as well
(可控/不可控, a root cause of COMPLAINT_TAXONOMY_FILE, and the 整改措施 when controllable).
Statuses are plain strings here so that bot/tickets.py can use the rules too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

import yaml

ORDER = ("accepted", "investigating", "processing", "feedback", "follow_up", "closed")
OUTCOME_LABELS = {"upheld": "投诉成立", "partly_upheld": "部分成立", "not_upheld": "投诉不成立", "mediated": "调解处理"}
TEXT_FIELDS = {
    "findings": "核实情况",
    "decision": "处理结果",
    "decision_basis": "处理依据和理由",
    "result_notice": "处理结果告知内容",
    "follow_up_note": "回访记录",
    "improvement_action": "整改措施",
}
FLAG_FIELDS = {
    "follow_up_reached": "是否联系上投诉人",
    "follow_up_satisfied": "投诉人是否满意",
    "root_cause_controllable": "是否可控",
}
CHOICE_FIELDS = {"outcome": "处理结论", "root_cause_category": "根因分类"}
FIELD_LABELS: Dict[str, str] = {**TEXT_FIELDS, **FLAG_FIELDS, **CHOICE_FIELDS}
MAX_TEXT = 5000
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

# Which step each field belongs to (the desk groups its form by this).
STEP_FIELDS: Dict[str, Tuple[str, ...]] = {
    "investigating": ("findings",),
    "processing": ("decision", "decision_basis", "outcome"),
    "feedback": ("result_notice",),
    "follow_up": ("follow_up_reached", "follow_up_satisfied", "follow_up_note"),
    "closed": ("root_cause_controllable", "root_cause_category", "improvement_action"),
}


def _always(_values: Mapping[str, Any]) -> bool:
    return True


# Field → when it is required (given the ticket's values); fields absent here are optional.
_REQUIRED: Dict[str, Callable[[Mapping[str, Any]], bool]] = {
    "findings": _always,
    "decision": _always,
    "decision_basis": _always,
    "outcome": _always,
    "result_notice": _always,
    "follow_up_reached": _always,
    "follow_up_satisfied": lambda values: values.get("follow_up_reached") is True,
    "root_cause_controllable": _always,
    "root_cause_category": _always,
    "improvement_action": lambda values: values.get("root_cause_controllable") is True,
}


class ContentError(ValueError):
    """Content the handler must correct; the message is shown as it is."""


@dataclass(frozen=True)
class RootCauses:
    labels: Dict[str, str]
    usually_controllable: Dict[str, bool]

    @classmethod
    def load(cls, path: Path) -> "RootCauses":
        """The `root_causes` of the taxonomy file (knowledge/complaint_taxonomy.yml)."""
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
        return cls.parse(data.get("root_causes") or {}, str(path))

    @classmethod
    def parse(cls, causes: Mapping[str, Any], source: str) -> "RootCauses":
        if not causes:
            raise ValueError(f"{source} lists no root-cause categories")
        return cls(
            labels={str(key): str(item["label"]) for key, item in causes.items()},
            usually_controllable={str(key): bool(item.get("controllable")) for key, item in causes.items()},
        )


def steps_left(source: str, target: str) -> List[str]:
    """The steps whose content a move from `source` to `target` completes."""
    start, end = ORDER.index(source), ORDER.index(target)
    steps = list(ORDER[start:end])
    if target == "closed":
        steps.append("closed")
    return [step for step in steps if step in STEP_FIELDS]


def required_for(source: str, target: str, values: Mapping[str, Any]) -> List[str]:
    """Fields a move needs, given the values it would have (conditional ones included when they apply)."""
    return [
        name
        for step in steps_left(source, target)
        for name in STEP_FIELDS[step]
        if name in _REQUIRED and _REQUIRED[name](values)
    ]


def missing_for(source: str, target: str, values: Mapping[str, Any]) -> List[str]:
    return [name for name in required_for(source, target, values) if values.get(name) in (None, "")]


def missing_message(missing: List[str]) -> str:
    return "请先填写：" + "、".join(FIELD_LABELS[name] for name in missing)


def _flag(name: str, raw: Any) -> Optional[bool]:
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "1", "yes", "是"):
        return True
    if isinstance(raw, str) and raw.strip().lower() in ("false", "0", "no", "否"):
        return False
    raise ContentError(f"{FIELD_LABELS[name]}请选择“是”或“否”")


def _text(name: str, raw: Any) -> Optional[str]:
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ContentError(f"{FIELD_LABELS[name]}应为文字")
    if _UNSTORABLE.search(raw):
        raise ContentError(f"{FIELD_LABELS[name]}包含无法识别的字符")
    text = raw.strip()
    if len(text) > MAX_TEXT:
        raise ContentError(f"{FIELD_LABELS[name]}过长，请控制在{MAX_TEXT}字以内")
    return text or None


def clean(content: Mapping[str, Any], root_causes: RootCauses) -> Dict[str, Any]:
    """Checked, bounded values for the step content fields given; unknown fields are refused."""
    if not isinstance(content, Mapping):
        raise ContentError("提交的内容格式不正确")
    unknown = set(content) - set(FIELD_LABELS)
    if unknown:
        raise ContentError("包含无法保存的字段：" + "、".join(sorted(str(name)[:32] for name in unknown)))
    values: Dict[str, Any] = {}
    for name, raw in content.items():
        if name in TEXT_FIELDS:
            values[name] = _text(name, raw)
        elif name in FLAG_FIELDS:
            values[name] = _flag(name, raw)
        else:
            choice = _text(name, raw)
            allowed = OUTCOME_LABELS if name == "outcome" else root_causes.labels
            if choice is not None and choice not in allowed:
                raise ContentError(f"请选择有效的{FIELD_LABELS[name]}")
            values[name] = choice
    return values
