import logging

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
