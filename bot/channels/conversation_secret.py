"""The per-conversation secret of the REST channel.

A REST client chooses its conversation id, so the id cannot be what proves the
conversation is the client's. The server hands the client a secret with the
answer to the message that created the conversation, and asks for it with
every later message and every mailbox read.

The secret is an HMAC of the conversation id under a key derived from the
field hash key (bot/crypto.py: `FIELD_HASH_KEY` or var/keys/field-keys.json),
so nothing is stored and every replica that shares the key can check it by
recomputing. It is only ever handed out by the request whose turn created the
conversation (bot/channels/rest.py serialises first messages per id), so
guessing a new id gives nobody the secret of a conversation someone else
started. Changing the hash key invalidates every secret issued before.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

HEADER = "X-Conversation-Secret"
BODY_FIELD = "secret"
_PURPOSE = b"complaints/rest-conversation-secret/v1"
MAX_SECRET_LENGTH = 128

MISSING_SECRET_TEXT = (
    "该会话已存在，需要提供会话密钥（X-Conversation-Secret）。会话密钥在该会话第一条消息的回复中提供；"
    "如已丢失，请使用一个新的随机会话编号开始新对话。"
)
WRONG_SECRET_TEXT = "会话密钥不正确，无法访问该会话。请使用该会话第一条消息回复中提供的会话密钥，或开始新对话。"


class ConversationSecrets:
    """Issues and checks conversation secrets; the key never leaves this object."""

    def __init__(self, hash_key: bytes) -> None:
        # A key of its own: a secret is never equal to a field digest of the same string.
        self._key = hmac.new(hash_key, _PURPOSE, hashlib.sha256).digest()

    def issue(self, conversation_id: str) -> str:
        mac = hmac.new(self._key, conversation_id.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")

    def verify(self, conversation_id: str, presented: Any) -> bool:
        """Constant-time comparison with the conversation's secret."""
        if not isinstance(presented, str) or not presented.isascii() or len(presented) > MAX_SECRET_LENGTH:
            return False
        return hmac.compare_digest(self.issue(conversation_id).encode("ascii"), presented.encode("ascii"))
