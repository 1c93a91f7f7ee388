"""The region (branch) responsible for a ticket: policy-number prefix, else the phone's province, else 未知."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import phonenumbers
import yaml
from phonenumbers import geocoder

UNKNOWN = "未知"
MAX_REGION = 64
# The geocoder names a mainland number's area "江苏省常州市", "北京市" or, for autonomous regions, by the
# short name ("广西南宁市"): the province is the first level, under its full name.
_PROVINCES = (
    "北京市", "天津市", "上海市", "重庆市", "河北省", "山西省", "辽宁省", "吉林省", "黑龙江省", "江苏省",
    "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省", "广东省", "海南省",
    "四川省", "贵州省", "云南省", "陕西省", "甘肃省", "青海省", "台湾省", "内蒙古自治区", "广西壮族自治区",
    "西藏自治区", "宁夏回族自治区", "新疆维吾尔自治区", "香港特别行政区", "澳门特别行政区",
)  # fmt: skip
_SHORT = re.compile(r"(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$")
_BY_SHORT_NAME = {_SHORT.sub("", name): name for name in _PROVINCES}


def phone_province(phone: Optional[str]) -> Optional[str]:
    """The province of a Chinese number from phonenumbers' offline data, or None when it has none."""
    if not phone:
        return None
    try:
        parsed = phonenumbers.parse(phone, "CN")
    except phonenumbers.NumberParseException:
        return None
    if parsed.country_code != 86 or not phonenumbers.is_valid_number(parsed):
        return None
    area = geocoder.description_for_number(parsed, "zh")
    for short in (area[:3], area[:2]):  # 黑龙江, 内蒙古 have three characters
        if short in _BY_SHORT_NAME:
            return _BY_SHORT_NAME[short]
    return None


@dataclass(frozen=True)
class RegionMap:
    policy_prefixes: Dict[str, str]
    provinces: Dict[str, str]

    @classmethod
    def load(cls, path: Path) -> "RegionMap":
        if not path.exists():  # no branches configured: provinces alone
            return cls({}, {})
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
        return cls.parse(data, str(path))

    @classmethod
    def parse(cls, data: Mapping[str, Any], source: str) -> "RegionMap":
        prefixes, provinces = data.get("policy_prefixes") or {}, data.get("provinces") or {}
        if not isinstance(prefixes, Mapping) or not isinstance(provinces, Mapping):
            raise ValueError(f"{source}: policy_prefixes and provinces must be mappings")
        for name in list(prefixes.values()) + list(provinces.values()):
            if not str(name).strip() or len(str(name)) > MAX_REGION:
                raise ValueError(f"{source}: a branch name must have 1 to {MAX_REGION} characters, got {name!r}")
        return cls(
            policy_prefixes={str(key).upper(): str(name) for key, name in prefixes.items() if str(key)},
            provinces={str(key): str(name) for key, name in provinces.items()},
        )

    def policy_branch(self, policy_number: Optional[str]) -> Optional[str]:
        """The branch of the longest listed prefix of the policy number, if any."""
        policy = (policy_number or "").strip().upper()
        for length in range(len(policy), 0, -1):
            branch = self.policy_prefixes.get(policy[:length])
            if branch:
                return branch
        return None

    def phone_region(self, phone: Optional[str]) -> str:
        """The branch of the phone's province (the province itself when none is listed), else 未知."""
        province = phone_province(phone)
        if province:
            return self.provinces.get(province, province)
        return UNKNOWN

    def region_for(self, policy_number: Optional[str], phone: Optional[str]) -> str:
        """The branch by the longest listed policy-number prefix, else by the phone's province, else 未知."""
        return self.policy_branch(policy_number) or self.phone_region(phone)
