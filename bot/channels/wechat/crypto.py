"""WeChat callback signatures and safe-mode (AES) message encryption.

Byte layout (Tencent "消息加解密说明"): AES-256-CBC with key
``base64(EncodingAESKey + "=")`` and IV ``key[:16]``; the plaintext is
``random(16) || len(msg) big-endian u32 || msg || AppID`` padded with PKCS#7 to
a multiple of 32 bytes (not 16 — libraries that unpad with 16 reject about half
of all real messages).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
from typing import Optional

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

_AES_KEY_PATTERN = re.compile(r"[A-Za-z0-9]{43}")
_PAD_BLOCK = 32
# Far above any real callback; bounds work done on an authenticated but hostile payload.
MAX_ENCRYPTED_CHARS = 256 * 1024


class CryptoError(ValueError):
    """The payload is not a valid encrypted WeChat message."""


class AppIdMismatch(CryptoError):
    """Decrypted fine but was encrypted for another account."""


def signature(*parts: str) -> str:
    """sha1 over the lexicographically sorted parts, concatenated without a delimiter."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def signature_matches(expected: str, given: str) -> bool:
    # Constant time, so the signature cannot be guessed byte by byte.
    return hmac.compare_digest(expected.encode("ascii"), given.encode("ascii", "replace"))


def _pad(data: bytes) -> bytes:
    amount = _PAD_BLOCK - len(data) % _PAD_BLOCK
    return data + bytes([amount]) * amount


def _unpad(data: bytes) -> bytes:
    if not data:
        raise CryptoError("empty plaintext")
    amount = data[-1]
    if not 1 <= amount <= _PAD_BLOCK or data[-amount:] != bytes([amount]) * amount:
        raise CryptoError("bad padding")
    return data[:-amount]


class MessageCrypto:
    """Encrypts and decrypts callback payloads of one Official Account."""

    def __init__(self, token: str, encoding_aes_key: str, app_id: str) -> None:
        if not _AES_KEY_PATTERN.fullmatch(encoding_aes_key or ""):
            raise ValueError("EncodingAESKey must be exactly 43 characters of [A-Za-z0-9]")
        self.token = token
        self.app_id = app_id
        self._key = base64.b64decode(encoding_aes_key + "=")
        self._iv = self._key[:16]

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._iv))

    def msg_signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        return signature(self.token, timestamp, nonce, encrypted)

    def encrypt(self, message: str, random_prefix: Optional[bytes] = None) -> str:
        """Returns the base64 ``Encrypt`` value for ``message`` (a reply XML)."""
        prefix = os.urandom(16) if random_prefix is None else random_prefix
        if len(prefix) != 16:
            raise ValueError("the random prefix must be 16 bytes")
        body = message.encode("utf-8")
        plain = _pad(prefix + struct.pack(">I", len(body)) + body + self.app_id.encode("utf-8"))
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypted: str) -> str:
        """Returns the inner XML; raises CryptoError on anything malformed or foreign."""
        if len(encrypted) > MAX_ENCRYPTED_CHARS:
            raise CryptoError("ciphertext too long")
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CryptoError("ciphertext is not base64") from exc
        if not data or len(data) % _PAD_BLOCK:
            raise CryptoError("ciphertext length is not a multiple of 32")
        decryptor = self._cipher().decryptor()
        plain = _unpad(decryptor.update(data) + decryptor.finalize())
        if len(plain) < 20:
            raise CryptoError("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise CryptoError("message length exceeds the plaintext")
        body, receiver = plain[20 : 20 + length], plain[20 + length :]
        if not hmac.compare_digest(receiver, self.app_id.encode("utf-8")):
            raise AppIdMismatch("message was encrypted for another AppID")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CryptoError("message is not UTF-8") from exc
