"""rasa-sdk adapters: thin wrappers that call into the `bot` package."""

from bot.privacy import install_log_masking

install_log_masking()
