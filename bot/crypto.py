"""Application-layer encryption and keyed hashes for personal numbers in the database.

Keys come from the environment (FIELD_ENCRYPTION_KEYS, FIELD_HASH_KEY). When
they are unset (the embedded default) a key file is created once under the var
directory, readable by its owner only, so that no key is ever in the code.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import List, Mapping, Optional

from cryptography.fernet import Fernet, MultiFernet


@dataclass(frozen=True)
class FieldCrypto:
    """Encrypts with the first key, decrypts with any (rotation), hashes with a keyed HMAC."""

    encryption_keys: List[bytes]
    hash_key: bytes

    def _fernet(self) -> MultiFernet:
        return MultiFernet([Fernet(key) for key in self.encryption_keys])

    def encrypt(self, plain: str) -> str:
        return self._fernet().encrypt(plain.encode()).decode()

    def decrypt(self, token: str) -> str:
        return self._fernet().decrypt(token.encode()).decode()

    def digest(self, value: str) -> str:
        """Keyed hash for exact-match search: equal inputs, equal digests; no key, no guessing."""
        return hmac.new(self.hash_key, value.encode(), hashlib.sha256).hexdigest()


def _key_file(var_dir: Path) -> Mapping[str, str]:
    path = var_dir / "keys" / "field-keys.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        keys = {
            "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "FIELD_HASH_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        }
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                json.dump(keys, handle)
    return json.loads(path.read_text())


def load(var_dir: Path, env: Optional[Mapping[str, str]] = None) -> FieldCrypto:
    """Keys from the environment, else from (a new) var/keys/field-keys.json."""
    env = os.environ if env is None else env
    source = env if env.get("FIELD_ENCRYPTION_KEYS") and env.get("FIELD_HASH_KEY") else _key_file(var_dir)
    keys = [k.strip().encode() for k in source["FIELD_ENCRYPTION_KEYS"].split(",") if k.strip()]
    return FieldCrypto(keys, base64.urlsafe_b64decode(source["FIELD_HASH_KEY"].encode()))
