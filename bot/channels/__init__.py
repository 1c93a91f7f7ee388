"""Input and output channels: how policyholders reach the assistant."""

from bot.validators import MAX_TEXT_LENGTH

# What every channel tells the policyholder when a message cannot be handled.
TOO_LONG_TEXT = f"消息太长了（超过{MAX_TEXT_LENGTH}字），请精简或分几次发送。"
FAILED_TURN_TEXT = "抱歉，系统暂时繁忙，请稍后再试；如需帮助也可以回复“转人工”。"
