"""Validation and normalisation of what policyholders type.

Each validator returns a `Check`: the normalised value, or a Chinese message
that tells the user exactly what is wrong.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any, Collection, Optional

import phonenumbers
from stdnum.cn import ric

MAX_TEXT_LENGTH = 5000
MIN_DESCRIPTION_CHARS = 5


@dataclass(frozen=True)
class Check:
    value: Optional[str] = None
    error: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _half_width(text: Any) -> str:
    # NFKC turns full-width digits and letters typed with a Chinese IME into ASCII.
    # Anything but a string (a forged slot value) reads as nothing.
    return unicodedata.normalize("NFKC", text) if isinstance(text, str) else ""


def _meaningful_chars(text: str) -> int:
    """Letters, digits and CJK characters; emoji, symbols and spaces don't count."""
    return sum(1 for ch in text if unicodedata.category(ch)[0] in ("L", "N"))


def phone_number(raw: str) -> Check:
    text = re.sub(r"[\s\-()（）]", "", _half_width(raw or ""))
    if not text:
        return Check(error="请提供您的手机号码，例如 138 1234 5678。")
    runs = re.findall(r"\+?\d+", text)
    if len(runs) == 1 and len(runs[0].lstrip("+")) >= 7:
        text = runs[0]  # one number among words ("我电话是138 1234 567"): judge the number
    if text.startswith("0086"):
        text = "+86" + text[4:]
    elif text.startswith("86") and len(text) == 13:
        text = "+" + text
    if not re.fullmatch(r"\+?\d+", text):
        return Check(error="手机号只能包含数字，请输入11位中国大陆手机号，例如 138 1234 5678。")
    try:
        parsed = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        return Check(error="没能识别这个号码，请输入11位中国大陆手机号，例如 138 1234 5678。")
    national = str(parsed.national_number)
    if parsed.country_code != 86 or len(national) != 11 or not national.startswith("1"):
        return Check(error="手机号应为以1开头的11位数字（中国大陆手机号），请重新输入。")
    number_type = phonenumbers.number_type(parsed)
    if not phonenumbers.is_valid_number(parsed) or number_type not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        return Check(error="这个号码不是有效的中国大陆手机号段，请核对后重新输入。")
    return Check(value=national)


def id_number(raw: str, today: Optional[date] = None) -> Check:
    text = re.sub(r"\s", "", _half_width(raw or "")).upper()
    if not re.fullmatch(r"\d{17}[\dX]", text):
        return Check(error="身份证号应为18位，前17位是数字，最后一位是数字或X，请核对。")
    # stdnum computes the check digit from the first 17 of the 18 characters.
    if ric.calc_check_digit(text) != text[17]:
        return Check(error="身份证号校验位不正确，可能有一位输错了，请逐位核对后重新输入。")
    try:
        birth = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return Check(error="身份证号中的出生日期无效，请核对。")
    today = today or date.today()
    if birth > today or birth.year < 1880:
        return Check(error="身份证号中的出生日期无效，请核对。")
    return Check(value=text)


def policy_number(raw: str, pattern: str) -> Check:
    text = re.sub(r"[\s\-]", "", _half_width(raw or "")).upper()
    if re.fullmatch(pattern, text):
        return Check(value=text)
    if not text:
        return Check(error="请提供保单号;如果手边没有，可以回复“跳过”。")
    return Check(
        error="保单号格式不正确：通常是1到4位大写字母加8到20位数字（如 PL202300123456），"
        "请核对保单或电子保单上的号码;如果手边没有，可以回复“跳过”。"
    )


_NAME = re.compile(r"[\u4e00-\u9fff·•]{2,20}|[A-Za-z][A-Za-z .'\-]{1,59}")
_NAME_PREFIXES = ("我的名字是", "我的名字叫", "我叫", "我是", "姓名是", "姓名", "名字是", "名字")
# "我姓孙，叫孙桂芝", "我姓黄，黄志强": the surname first, then the full name that starts with it.
_SURNAME_THEN_NAME = re.compile(
    r"我姓([\u4e00-\u9fff]{1,2})[,，、\s]*(?:叫|名叫|全名)?[:：]?\s*(\1[\u4e00-\u9fff·]{1,3})"
)


def complainant_name(raw: str) -> Check:
    text = _half_width(raw or "").strip().rstrip("。.!!")  # noqa: B005 (any of these characters)
    surname_first = _SURNAME_THEN_NAME.fullmatch(text)
    if surname_first:
        text = surname_first.group(2)
    for prefix in _NAME_PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix) :].strip(":: ")  # noqa: B005 (any of these characters)
            break
    if not text:
        return Check(error="请告诉我投诉人的姓名，例如“张三”。")
    if re.search(r"\d", text):
        return Check(error="姓名里不应包含数字，请只输入投诉人的姓名，例如“张三”。")
    if not _NAME.fullmatch(text):
        return Check(error="没能识别姓名，请输入2到20个汉字的姓名（外籍人士可用英文），例如“张三”。")
    return Check(value=text)


def free_text(raw: Optional[object], what: str, minimum: int = MIN_DESCRIPTION_CHARS) -> Check:
    """Free text is stored exactly as typed; only its size and substance are checked."""
    if raw is not None and not isinstance(raw, str):
        return Check(error=f"{what}应为文字，请用文字描述一下。")
    text = raw or ""
    if not text.strip():
        return Check(error=f"{what}不能为空，请用文字描述一下。")
    if len(text) > MAX_TEXT_LENGTH:
        return Check(error=f"{what}太长了（超过{MAX_TEXT_LENGTH}字），请精简后重新发送。")
    if _meaningful_chars(text) < minimum:
        return Check(error=f"{what}内容太少，请用至少{minimum}个字说明一下，方便我们准确处理。")
    return Check(value=text)


TICKET_NUMBER = re.compile(r"TS\d{14}")


def ticket_number(raw: Any) -> Check:
    """TS + 8-digit date + 6-digit sequence; spaces and lower case are forgiven."""
    match = TICKET_NUMBER.search(re.sub(r"\s", "", _half_width(raw)).upper())
    if match is None:
        return Check(error="投诉编号格式是TS加14位数字，例如 TS20261122000123，请核对后重新输入。")
    return Check(value=match.group(0))


def complaint_category(raw: Any, allowed: Collection[str]) -> Check:
    """A category key the ticket database knows (the form maps words to keys)."""
    if isinstance(raw, str) and raw in allowed:
        return Check(value=raw)
    return Check(error="投诉类别无效，请从给出的类别中选择。")


# Channels name conversations `<id>` (REST), `web-<UUID>` or `<prefix>:<OpenID>` (WeChat),
# all drawn from this alphabet; anything else did not come from a channel.
MAX_CONVERSATION_ID_LENGTH = 160
_CONVERSATION_ID = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_.:-]{{0,{MAX_CONVERSATION_ID_LENGTH - 1}}}")


def conversation_id(raw: Any) -> Check:
    """A conversation id as the channels issue them: no markup, no paths, bounded."""
    if isinstance(raw, str) and _CONVERSATION_ID.fullmatch(raw) and ".." not in raw:
        return Check(value=raw)
    return Check(error="会话编号无效。")


_CHANNEL = re.compile(r"[a-z][a-z0-9_]{0,31}")


def channel_name(raw: Any) -> Check:
    """The input channel's name as Rasa records it (rest, web, wechat…)."""
    if isinstance(raw, str) and _CHANNEL.fullmatch(raw):
        return Check(value=raw)
    return Check(error="渠道名称无效。")


def choice(raw: Any, allowed: Collection[Any]) -> Check:
    """One of a fixed set of values (None included only if `allowed` has it)."""
    if (raw is None or isinstance(raw, str)) and raw in allowed:
        return Check(value=raw)
    return Check(error="取值无效。")


_LABEL = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,31}")


def optional_label(raw: Any) -> Check:
    """A short version-like label (e.g. the privacy notice's "1.0.0"), or nothing."""
    if raw is None or (isinstance(raw, str) and _LABEL.fullmatch(raw)):
        return Check(value=raw)
    return Check(error="标识无效。")
