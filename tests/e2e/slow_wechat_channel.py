"""The WeChat channel under a second name, for the end-to-end tests.

Rasa keys input channels by class, so running the same channel a second time
(here with no passive-reply budget at all: a warm server can finish a
turn within 0.1 s, so only 0 makes every turn "slow" deterministically) needs
a subclass with its own name and URL prefix. Nothing else differs.
"""

from __future__ import annotations

from bot.channels.wechat.channel import WeChatInput


class SlowWeChatInput(WeChatInput):
    @classmethod
    def name(cls) -> str:
        return "wechat_slow"
