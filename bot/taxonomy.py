"""The complaint taxonomy: categories, sub-reasons within each and root-cause categories, from one reviewed file.

Tickets keep the codes they were classified with; a code the file no longer lists is shown as itself with
（已停用）, so changing the file never rewrites history.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import yaml

from bot.settings import PROJECT_ROOT
from bot.step_content import RootCauses

RETIRED = "（已停用）"
UNCLASSIFIED = "未细分"


@dataclass(frozen=True)
class Category:
    code: str
    label: str
    sub_reasons: Dict[str, str]  # code → label, in the file's order
    gbt_code: Optional[str] = None  # GB/T 43568-2023 Appendix A, once an insurer maps it


@dataclass(frozen=True)
class Taxonomy:
    version: str
    categories: Dict[str, Category]
    root_causes: RootCauses

    @classmethod
    def load(cls, path: Path) -> "Taxonomy":
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
        return cls.parse(data, str(path))

    @classmethod
    def parse(cls, data: Mapping[str, Any], source: str) -> "Taxonomy":
        raw = data.get("categories") or {}
        if not isinstance(raw, Mapping) or not raw:
            raise ValueError(f"{source} lists no complaint categories")
        categories: Dict[str, Category] = {}
        for code, item in raw.items():
            if not isinstance(item, Mapping) or not item.get("label"):
                raise ValueError(f"{source}: category {code!r} has no label")
            reasons = item.get("sub_reasons") or {}
            if not isinstance(reasons, Mapping):
                raise ValueError(f"{source}: sub_reasons of {code!r} must be a mapping of code to label")
            gbt = item.get("gbt_code")
            categories[str(code)] = Category(
                code=str(code),
                label=str(item["label"]),
                sub_reasons={str(key): str(label) for key, label in reasons.items()},
                gbt_code=None if gbt is None else str(gbt),
            )
        return cls(
            version=str(data.get("version") or ""),
            categories=categories,
            root_causes=RootCauses.parse(data.get("root_causes") or {}, source),
        )

    def category_label(self, code: Optional[str]) -> str:
        """The label of a stored category code; a retired code shows as itself, marked."""
        if not code:
            return UNCLASSIFIED
        category = self.categories.get(code)
        return category.label if category else f"{code}{RETIRED}"

    def sub_reason_label(self, category: Optional[str], code: Optional[str]) -> str:
        """The label of a stored sub-reason within its category; free text typed as a label counts as that label."""
        if not code:
            return UNCLASSIFIED
        reasons = self.categories[category].sub_reasons if category in self.categories else {}
        if code in reasons:
            return reasons[code]
        if code in reasons.values():
            return code
        return f"{code}{RETIRED}"

    def sub_reason_code(self, category: Optional[str], value: Optional[str]) -> str:
        """The code a stored sub-reason stands for: free text typed as a listed label counts as its code, so
        both group together; anything else is kept as stored ('' for none)."""
        if not value:
            return ""
        reasons = self.categories[category].sub_reasons if category in self.categories else {}
        if value in reasons:
            return value
        for code, label in reasons.items():
            if label == value:
                return code
        return value

    def root_cause_label(self, code: Optional[str]) -> str:
        if not code:
            return UNCLASSIFIED
        label = self.root_causes.labels.get(code)
        return label if label else f"{code}{RETIRED}"


# The shipped file, not COMPLAINT_TAXONOMY_FILE: the category codes are a contract with the NLU training data
# and domain.yml (changing one means retraining), so the bot's own categories come from the reviewed file in
# the repository. The labels live there too, once.
SHIPPED_FILE = PROJECT_ROOT / "knowledge" / "complaint_taxonomy.yml"
CATEGORY_LABELS: Dict[str, str] = {
    code: item.label for code, item in Taxonomy.load(SHIPPED_FILE).categories.items()
}  # code → label, in the file's order (the categories' order everywhere)
