import logging
import random
import unicodedata

from stdnum.cn import ric

from bot import validators
from bot.desk.casework import _card
from bot.desk.transcript import transcript
from bot.privacy import install_log_masking, mask_id_number, mask_phone, mask_text


def test_masks_phone_and_id():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number("11010519491231002X") == "110105********002X"


def test_masks_numbers_inside_free_text():
    text = "电话138-1234-5678，身份证11010519491231002X，保单PL202300123456"
    masked = mask_text(text)
    assert "1234" not in masked.replace("PL202300123456", "")
    assert "138****5678" in masked and "110105********002X" in masked
    assert "PL202300123456" in masked


def test_log_records_never_carry_full_numbers(caplog):
    install_log_masking()
    install_log_masking()  # idempotent
    with caplog.at_level(logging.INFO):
        logging.getLogger("any.library").info("user %s sent %s", "13987654321", "id 360426199101010071")
    assert "13987654321" not in caplog.text and "360426199101010071" not in caplog.text
    assert "139****4321" in caplog.text


# -- every format the validators accept is masked (finding 7) -------------------

_DIGIT_FORMS = {
    "ascii": lambda d: str(d),
    "full-width": lambda d: chr(0xFF10 + d),
    "arabic-indic": lambda d: chr(0x0660 + d),
    "mathematical": lambda d: chr(0x1D7CE + d),
    "circled": lambda d: "⓪" if d == 0 else chr(0x2460 + d - 1),
}
_PHONES = ["13812345678", "13987654321", "15012345678", "18600001111", "19912345678", "17712345670"]
_PHONE_PREFIXES = [
    "",
    "+86",
    "+86 ",
    "0086",
    "0086-",
    "86",
    "86 ",
    "(+86)",
    "（+86）",
    "+86 (0)",
    "0",
    "+0086 ",
    "＋８６ ",
]
_PHONE_GROUPS = [[11], [3, 4, 4], [3, 8], [4, 3, 4], [3, 3, 5], [1] * 11]
_SEPARATORS = [" ", "-", "\u3000", "－", "  ", " - ", "\t", "（", "）"]
_CONTEXTS = ["{}", "我的手机号是{}。", "电话:{}，谢谢", "{}是我的号码", "身份证{}，请核对"]


def _written(digits: str, groups, separator: str, form, rng: random.Random) -> str:
    pieces, at = [], 0
    for size in groups:
        pieces.append("".join(form(int(d)) if d.isdigit() else d for d in digits[at : at + size]))
        at += size
    return separator.join(pieces)


def _plain_digits(text: str) -> str:
    """Independently of bot.privacy: every digit form as ASCII, separators and parentheses dropped."""
    out = []
    for char in text:
        for c in unicodedata.normalize("NFKC", char):
            if unicodedata.decimal(c, None) is not None:
                out.append(str(unicodedata.decimal(c)))
            elif c.isspace() or c in "-()（）.":
                continue
            else:
                out.append(c.upper())
    return "".join(out)


def _longest_original_run(masked: str, original: str) -> int:
    plain = _plain_digits(masked)
    return max(
        (
            n
            for n in range(1, len(original) + 1)
            if any(original[i : i + n] in plain for i in range(len(original) - n + 1))
        ),
        default=0,
    )


def test_every_phone_format_the_validator_accepts_is_masked():
    rng = random.Random(12)
    checked = 0
    for _ in range(3000):
        phone = rng.choice(_PHONES)
        form = _DIGIT_FORMS[rng.choice(list(_DIGIT_FORMS))]
        prefix = "".join(form(int(c)) if c.isdigit() and rng.random() < 0.5 else c for c in rng.choice(_PHONE_PREFIXES))
        typed = prefix + _written(phone, rng.choice(_PHONE_GROUPS), rng.choice(_SEPARATORS), form, rng)
        assert validators.phone_number(typed).value == phone, typed
        masked = mask_text(rng.choice(_CONTEXTS).format(typed))
        assert "138****5678".replace("138", phone[:3]).replace("5678", phone[-4:]) in masked, (typed, masked)
        # Visible: the first 3 and last 4 digits; nothing longer of the number survives.
        assert _longest_original_run(masked, phone) <= 4, (typed, masked)
        checked += 1
    assert checked == 3000


def _valid_id(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


def test_every_id_format_the_validator_accepts_is_masked_and_hyphens_too():
    ids = [
        "11010519491231002X",
        "360426199101010071",
        "440524188001010014",
        _valid_id("11010119900307123"),
        _valid_id("81000019940823002"),
        _valid_id("32010219851010001"),
    ]
    groups = [[18], [6, 8, 4], [6, 4, 4, 4], [6, 8, 3, 1], [3] * 6, [1] * 18]
    x_forms = ["X", "x", "Ｘ", "ｘ"]
    rng = random.Random(7)
    for _ in range(2000):
        number = rng.choice(ids)
        form_name = rng.choice(["ascii", "full-width", "arabic-indic", "mathematical"])
        form = _DIGIT_FORMS[form_name]
        separator = rng.choice([" ", "\u3000", "  ", "-", "－", " - "])
        typed = _written(number, rng.choice(groups), separator, form, rng)
        typed = typed.replace("X", rng.choice(x_forms))
        # The validator takes spaces, not hyphens, and compares the check digit as an ASCII character.
        if not any(c in separator for c in "-－") and form_name != "arabic-indic":
            assert validators.id_number(typed).value == number, typed
        masked = mask_text(rng.choice(_CONTEXTS).format(typed))
        assert f"{number[:6]}********{number[-4:]}" in masked, (typed, masked)
        assert _longest_original_run(masked, number) <= 6, (typed, masked)


def test_masking_leaves_ticket_policy_and_short_numbers_alone():
    text = "受理编号TS20261122000001，保单PL202300123456，金额12000元，2026-11-28 13:45"
    assert mask_text(text) == text


def test_desk_transcript_and_queue_cards_mask_full_width_and_spaced_numbers():
    typed = "我的电话是１３８１２３４５６７８，身份证110101 19900307 123X"
    lines = transcript([{"event": "user", "text": typed, "timestamp": 1}])
    card = _card(
        {
            "id": 1,
            "reason": "user_request",
            "channel": "rest",
            "created_at": "2026-11-28T00:00:00",
            "slots": {"complaint_description": typed, "phone_number": "１３８１２３４５６７８"},
        },
        names={},
    )
    shown = lines[0].text + " ".join(field["value"] for field in card["fields"])
    assert "１３８１２３４５６７８" not in shown and "19900307" not in shown
    assert "138****5678" in lines[0].text and "110101********123X" in lines[0].text
    assert "12345678" not in _plain_digits(shown)


def test_log_records_mask_full_width_numbers(caplog):
    install_log_masking()
    with caplog.at_level(logging.INFO):
        logging.getLogger("bot.test").info("user typed %s", "＋８６ １３８ １２３４ ５６７８")
    assert "１２３４" not in caplog.text and "138****5678" in caplog.text
