"""The uniform claim-material script (统一话术).

Every answer about claim documents is rendered from the one reviewed file
`knowledge/claim_materials.yml`, so a claim type always yields the same bytes,
whichever channel, form or phrasing led to the question. The answer is phone-first:
a short summary (condolence, documents, how to apply), the reasons on request.
The review metadata (version, reviewer) never enters the policyholder's text.
A version other than the one last reviewed is a draft, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import yaml

from bot.rasa.nlu.vocabulary import CLAIM_TYPES

# review_status in message metadata.
DRAFT = "draft"
REVIEWED = "reviewed"


class MaterialsFileError(ValueError):
    """The knowledge file is missing a field or references an unknown document."""


@dataclass(frozen=True)
class Document:
    id: str
    name: str
    short: str
    aliases: Tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class ClaimType:
    id: str
    name: str
    documents: Tuple[Document, ...]
    notes: Tuple[str, ...]
    condolence: str = ""


@dataclass(frozen=True)
class MaterialsScript:
    version: str
    # The last review: of which version, by whom, when. It vouches for this text only if the versions match.
    reviewed_version: str
    reviewed_by: str
    reviewed_on: str
    documents: Mapping[str, Document]
    claim_types: Mapping[str, ClaimType]
    general_notes: Tuple[str, ...]
    how_to_apply: str = ""
    # (alias, document id), longest first: 身份证 sits inside 受益人身份证.
    aliases: Tuple[Tuple[str, str], ...] = ()

    def summary(self, claim_type: str) -> str:
        """The phone-sized answer: condolence where due, the documents by short name, how to apply."""
        kind = self.claim_types[claim_type]
        lines = [kind.condolence] if kind.condolence else []
        lines.append(f"【{kind.name}】理赔一般需要：" + "、".join(doc.short for doc in kind.documents) + "。")
        lines.append(self.how_to_apply)
        lines.append(self.general_notes[-1])
        return "\n".join(lines)

    def reasons(self, claim_type: str) -> str:
        """Why each document is needed, and the notes: shown when the policyholder asks."""
        kind = self.claim_types[claim_type]
        lines = [f"【{kind.name}】各项材料的用途："]
        for number, doc in enumerate(kind.documents, start=1):
            lines.append(f"{number}. {doc.name}：{doc.reason}")
        lines.append("温馨提示：")
        lines.extend(f"· {note}" for note in kind.notes + self.general_notes)
        return "\n".join(lines)

    def render(self, claim_type: str) -> str:
        """Summary and reasons in one text, for agents' canned replies."""
        return self.summary(claim_type) + "\n" + self.reasons(claim_type)

    @property
    def is_draft(self) -> bool:
        """True while the text served is not the version last reviewed."""
        return self.version != self.reviewed_version

    def metadata(self) -> Dict[str, str]:
        """The review record of this text, for message metadata and logs (never the user's text).

        A draft names no reviewer: the last review was of another text."""
        if self.is_draft:
            return {"script_version": self.version, "review_status": DRAFT}
        return {
            "script_version": self.version,
            "review_status": REVIEWED,
            "reviewed_by": self.reviewed_by,
            "reviewed_on": self.reviewed_on,
        }

    def draft_warning(self) -> Optional[str]:
        """What the servers log at start while a draft is served, or None."""
        if not self.is_draft:
            return None
        return (
            f"the claim-materials script is the unreviewed draft {self.version} (last reviewed: "
            f"{self.reviewed_version}); release a reviewed version as README.md says (Claim-materials script)"
        )

    def explain(self, document_id: str) -> str:
        """Why one document is needed, from the same file."""
        doc = self.documents[document_id]
        return f"为什么需要【{doc.name}】：{doc.reason}\n· {self.general_notes[-1]}"

    def documents_mentioned(self, text: str) -> List[str]:
        """Documents named in the text; a matched alias is consumed so shorter ones can't re-match."""
        found: List[str] = []
        remaining = text
        for alias, doc_id in self.aliases:
            if alias in remaining:
                remaining = remaining.replace(alias, " ")
                if doc_id not in found:
                    found.append(doc_id)
        return found

    def claim_type_name(self, claim_type: str) -> str:
        return self.claim_types[claim_type].name


def _require(mapping: Mapping, key: str, where: str) -> Any:
    if key not in mapping or mapping[key] in (None, ""):
        raise MaterialsFileError(f"{where}: missing '{key}'")
    return mapping[key]


def parse(raw: Mapping) -> MaterialsScript:
    documents: Dict[str, Document] = {}
    for doc_id, item in _require(raw, "documents", "file").items():
        documents[doc_id] = Document(
            id=doc_id,
            name=str(_require(item, "name", doc_id)),
            short=str(_require(item, "short", doc_id)),
            aliases=tuple(_require(item, "aliases", doc_id)),
            reason=str(_require(item, "reason", doc_id)),
        )
    claim_types: Dict[str, ClaimType] = {}
    raw_types = _require(raw, "claim_types", "file")
    if tuple(raw_types) != CLAIM_TYPES:
        raise MaterialsFileError(f"claim_types must be exactly {CLAIM_TYPES}")
    for type_id, item in raw_types.items():
        refs = _require(item, "documents", type_id)
        unknown = [ref for ref in refs if ref not in documents]
        if unknown:
            raise MaterialsFileError(f"{type_id}: unknown documents {unknown}")
        claim_types[type_id] = ClaimType(
            id=type_id,
            name=str(_require(item, "name", type_id)),
            documents=tuple(documents[ref] for ref in refs),
            notes=tuple(item.get("notes") or ()),
            condolence=str(item.get("condolence") or ""),
        )
    return MaterialsScript(
        version=str(_require(raw, "version", "file")),
        reviewed_version=str(_require(raw, "reviewed_version", "file")),
        reviewed_by=str(_require(raw, "reviewed_by", "file")),
        reviewed_on=str(_require(raw, "reviewed_on", "file")),
        documents=documents,
        claim_types=claim_types,
        general_notes=tuple(_require(raw, "general_notes", "file")),
        how_to_apply=str(_require(raw, "how_to_apply", "file")),
        aliases=tuple(
            sorted(
                ((alias, doc.id) for doc in documents.values() for alias in doc.aliases),
                key=lambda pair: len(pair[0]),
                reverse=True,
            )
        ),
    )


@lru_cache(maxsize=4)
def load(path: Path) -> MaterialsScript:
    with open(path, encoding="utf-8") as handle:
        return parse(yaml.safe_load(handle))


def claim_type_or_none(value: Optional[str]) -> Optional[str]:
    return value if value in CLAIM_TYPES else None
