"""WeChat Official Account (公众号) channel.

The Rasa channel class is ``bot.channels.wechat.channel.WeChatInput`` (the
only module here that imports Rasa); the rest is plain Python.
"""

from bot.channels.wechat.failures import recent_delivery_failures, record_delivery_failure

__all__ = ["recent_delivery_failures", "record_delivery_failure"]
