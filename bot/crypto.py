"""Application-layer encryption and keyed hashes for personal numbers in the database.

Keys come from the environment: FIELD_ENCRYPTION_KEYS (Fernet keys, comma
separated, the newest first: rows are written with the first and read with any,
which is how keys are rotated) and FIELD_HASH_KEY (the HMAC key of the search
hashes). When both are unset (the embedded default) a key file is created once
under the var directory, readable by its owner only, so that no key is ever in
the code. Several replicas must share the keys: set the variables in production.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import tempfile
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import List, Mapping, Optional

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

ENCRYPTION_KEYS_VARIABLE = "FIELD_ENCRYPTION_KEYS"
HASH_KEY_VARIABLE = "FIELD_HASH_KEY"
MIN_HASH_KEY_BYTES = 32


class FieldKeyError(RuntimeError):
    """The configured keys are malformed, or none of them opens a stored value."""


@dataclass(frozen=True)
class FieldCrypto:
    """Encrypts with the first key, decrypts with any (rotation), hashes with a keyed HMAC."""

    encryption_keys: List[bytes]
    hash_key: bytes

    @cached_property
    def _fernet(self) -> MultiFernet:
        return MultiFernet([Fernet(key) for key in self.encryption_keys])

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise FieldKeyError(
                f"an encrypted field cannot be opened with any key in {ENCRYPTION_KEYS_VARIABLE}"
            ) from exc

    def rotate(self, token: str) -> str:
        """The same value encrypted with the first key (its original timestamp kept)."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise FieldKeyError(
                f"an encrypted field cannot be opened with any key in {ENCRYPTION_KEYS_VARIABLE}"
            ) from exc

    def digest(self, value: str) -> str:
        """Keyed hash for exact-match search: equal inputs, equal digests; no key, no guessing."""
        return hmac.new(self.hash_key, value.encode(), hashlib.sha256).hexdigest()


def looks_encrypted(value: str) -> bool:
    """A Fernet token (version byte 0x80), as opposed to a plain value written before encryption."""
    return value.startswith("gAAAAA") and len(value) >= 100


def generate_keys() -> Mapping[str, str]:
    return {
        ENCRYPTION_KEYS_VARIABLE: Fernet.generate_key().decode(),
        HASH_KEY_VARIABLE: base64.urlsafe_b64encode(os.urandom(MIN_HASH_KEY_BYTES)).decode(),
    }


def _key_file(var_dir: Path) -> Mapping[str, str]:
    """Reads var/keys/field-keys.json, creating it first if needed.

    The file appears complete or not at all: it is written under a temporary
    name and hard-linked into place, and a process that loses the race reads
    the winner's keys.
    """
    path = var_dir / "keys" / "field-keys.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".field-keys.", suffix=".tmp")  # mode 0600
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(generate_keys(), handle)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temp, path)
            except FileExistsError:  # another process linked its file first: use that one
                pass
        finally:
            os.unlink(temp)
    for _ in range(50):
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError:  # a file written by hand and still being saved
            time.sleep(0.1)
    raise FieldKeyError(f"{path} is not valid JSON")


def load(var_dir: Path, env: Optional[Mapping[str, str]] = None) -> FieldCrypto:
    """Keys from the environment, else from (a new) var/keys/field-keys.json."""
    env = os.environ if env is None else env
    given = [name for name in (ENCRYPTION_KEYS_VARIABLE, HASH_KEY_VARIABLE) if env.get(name, "").strip()]
    if len(given) == 1:
        missing = ({ENCRYPTION_KEYS_VARIABLE, HASH_KEY_VARIABLE} - set(given)).pop()
        raise FieldKeyError(f"{given[0]} is set but {missing} is not: set both or neither")
    source = env if given else _key_file(var_dir)
    keys = [k.strip().encode() for k in source[ENCRYPTION_KEYS_VARIABLE].split(",") if k.strip()]
    try:
        for key in keys:
            Fernet(key)
        hash_key = base64.urlsafe_b64decode(source[HASH_KEY_VARIABLE].strip().encode())
    except (ValueError, binascii.Error) as exc:
        raise FieldKeyError(
            f"{ENCRYPTION_KEYS_VARIABLE} must be Fernet keys and {HASH_KEY_VARIABLE} "
            "URL-safe base64 (see docs/production.md)"
        ) from exc
    if not keys:
        raise FieldKeyError(f"{ENCRYPTION_KEYS_VARIABLE} holds no key")
    if len(hash_key) < MIN_HASH_KEY_BYTES:
        raise FieldKeyError(f"{HASH_KEY_VARIABLE} must decode to at least {MIN_HASH_KEY_BYTES} bytes")
    return FieldCrypto(keys, hash_key)


def for_process() -> FieldCrypto:
    """The keys of this process's configuration (environment, or the key file in its var directory)."""
    from bot.settings import Settings

    return load(Settings.from_env().var_dir)
