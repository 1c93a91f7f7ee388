"""The secret a REST or web conversation needs after its first message (bot/channels/conversation_secret.py)."""

from bot.channels.conversation_secret import ConversationSecrets
from bot.crypto import FieldCrypto


def test_a_conversation_secret_is_a_keyed_hash_of_the_id_and_nothing_else():
    secrets = ConversationSecrets(b"k" * 32)
    secret = secrets.issue("rest-1")
    assert secrets.verify("rest-1", secret) and secret == ConversationSecrets(b"k" * 32).issue("rest-1")
    assert not secrets.verify("rest-2", secret) and not ConversationSecrets(b"j" * 32).verify("rest-1", secret)
    for wrong in (None, 42, "", secret.upper(), secret + "=", "密" * 43, "a" * 10_000):
        assert not secrets.verify("rest-1", wrong)
    # Not the keyed hash that finds phone numbers in the database (same key).
    digest = FieldCrypto([], b"k" * 32).digest("rest-1")
    assert secret not in digest and digest not in secret
