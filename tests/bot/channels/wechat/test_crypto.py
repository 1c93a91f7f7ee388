"""Safe-mode crypto against published vectors (Tencent's sample, wechatpy's tests)."""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.channels.wechat.crypto import AppIdMismatch, CryptoError, MessageCrypto, signature
from bot.channels.wechat.messages import parse_fields

# Vector A: Tencent's Official Account sample.
A_TOKEN, A_KEY, A_APP_ID = "spamtest", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx2c2769f8efd9abc2"
A_TIMESTAMP, A_NONCE = "1409735669", "1320562132"
A_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9Fr"
    "XpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WG"
    "zjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYY"
    "I1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)

# Vector B: wechatpy tests/test_crypto.py (WeCom flavour; the receiver id is the CorpID).
B_TOKEN, B_KEY, B_ID = "123456", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "wx49f0ab532d5d035a"
B_REPLY = """<xml>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[test]]></Content>
<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>
<ToUserName><![CDATA[messense]]></ToUserName>
<AgentID>1</AgentID>
<CreateTime>1411525903</CreateTime>
</xml>"""
B_ENCRYPTED_REPLY = (
    "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObves"
    "El5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNr"
    "sDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0"
    "nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
)
B_INBOUND = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6"
    "ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/T"
    "ywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/"
    "5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0="
)


def a_crypto() -> MessageCrypto:
    return MessageCrypto(A_TOKEN, A_KEY, A_APP_ID)


def b_crypto() -> MessageCrypto:
    return MessageCrypto(B_TOKEN, B_KEY, B_ID)


def raw_encrypt(key_text: str, plain: bytes) -> str:
    """Encrypts an arbitrary (already padded) plaintext, to build malformed payloads."""
    key = base64.b64decode(key_text + "=")
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def test_signature_of_tencents_sample():
    assert signature(A_TOKEN, A_TIMESTAMP, A_NONCE) == "16120ec1b8dbb870f510d87ce6bc2463eae6ca1a"
    assert a_crypto().msg_signature(A_TIMESTAMP, A_NONCE, A_ENCRYPT) == "5d197aaffba7e9b25a30732f161a50dee96bd5fa"


def test_decrypts_tencents_sample():
    xml = a_crypto().decrypt(A_ENCRYPT)
    assert len(xml.encode()) == 280
    fields = parse_fields(xml)
    assert fields["Content"] == "abcdteT" and fields["MsgId"] == "6054768590064713728"
    assert fields["FromUserName"] == "oyORnuP8q7ou2gfYjqLzSIWZf0rs" and fields["ToUserName"] == "gh_10f6c3c3ac5a"


def test_wechatpy_vectors_decrypt():
    echostr = "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="
    assert signature(B_TOKEN, "1411443780", "437374425", echostr) == "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96"
    assert b_crypto().decrypt(echostr) == "5927782489442352469"
    assert b_crypto().msg_signature("1411525903", "461056294", B_INBOUND) == "74d92dfeb87ba7c714f89d98870ae5eb62dff26d"
    fields = parse_fields(b_crypto().decrypt(B_INBOUND))
    assert fields["Content"] == "test" and fields["FromUserName"] == "messense"


def test_encrypt_is_the_known_answer_with_a_fixed_random_prefix():
    encrypted = b_crypto().encrypt(B_REPLY, random_prefix=b"1234567890123456")
    assert encrypted == B_ENCRYPTED_REPLY
    assert b_crypto().msg_signature("1411525903", "461056294", encrypted) == "407518b7649e86ef23978113f92d27afa9296533"


@pytest.mark.parametrize("size", [0, 5, 9, 10, 25, 26, 27, 100, 1000])
def test_round_trip_for_every_padding_length(size):
    # 16 + 4 + size + 18 (AppID) bytes: size 26 needs a full 32-byte pad block,
    # sizes 0..9 need pads above 16 (where unpadding by 16 breaks).
    message = "文" * (size // 3) + "x" * (size % 3)
    crypto = a_crypto()
    assert crypto.decrypt(crypto.encrypt(message)) == message


def test_pad_of_a_full_block_and_above_16():
    crypto = a_crypto()
    for size, pad in ((26, 32), (6, 20)):
        body = b"a" * size
        plain = b"0" * 16 + struct.pack(">I", size) + body + A_APP_ID.encode()
        assert (len(plain) + pad) % 32 == 0
        assert crypto.decrypt(raw_encrypt(A_KEY, plain + bytes([pad]) * pad)) == "a" * size


def test_another_accounts_message_is_refused():
    foreign = MessageCrypto(A_TOKEN, A_KEY, "wx0000000000000000").encrypt("<xml/>")
    with pytest.raises(AppIdMismatch):
        a_crypto().decrypt(foreign)


@pytest.mark.parametrize(
    "payload",
    [
        "not base64!!",
        base64.b64encode(b"x" * 31).decode(),  # not a multiple of the block
        "",
    ],
)
def test_malformed_ciphertext_is_a_crypto_error(payload):
    with pytest.raises(CryptoError):
        a_crypto().decrypt(payload)


def test_bad_padding_and_lengths_are_refused():
    inconsistent_pad = b"0" * 16 + struct.pack(">I", 2) + b"ab" + A_APP_ID.encode() + b"\x01" * 23 + b"\x05"
    assert len(inconsistent_pad) % 32 == 0
    with pytest.raises(CryptoError, match="padding"):
        a_crypto().decrypt(raw_encrypt(A_KEY, inconsistent_pad))
    lying_length = b"0" * 16 + struct.pack(">I", 5000) + b"ab" + A_APP_ID.encode()
    lying_length += bytes([32 - len(lying_length) % 32]) * (32 - len(lying_length) % 32)
    with pytest.raises(CryptoError, match="length"):
        a_crypto().decrypt(raw_encrypt(A_KEY, lying_length))


def test_encoding_aes_key_must_have_43_characters():
    with pytest.raises(ValueError):
        MessageCrypto(A_TOKEN, A_KEY[:-1], A_APP_ID)
