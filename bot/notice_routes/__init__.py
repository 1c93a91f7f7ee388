"""The ways a notice reaches a complainant: the conversation (chat), WeChat, SMS."""
