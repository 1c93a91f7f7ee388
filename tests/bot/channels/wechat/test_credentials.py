"""Reading the channel's block from a Rasa credentials file, as the notice routes do outside Rasa."""

from __future__ import annotations

import pytest

from bot.channels.wechat.credentials import load_credentials_file
from bot.settings import PROJECT_ROOT
from tests.bot.channels.wechat.callbacks import APP_ID, APP_SECRET, TOKEN

BLOCK = f"""
rest:
bot.channels.wechat.channel.WeChatInput:
  token: {TOKEN}
  app_id: {APP_ID}
  app_secret: ${{WX_SECRET}}
  mode: plaintext
  api_base_url: https://wx-proxy.insurer.example/${{WX_PATH}}
"""


def test_variables_are_expanded_from_the_given_environment(tmp_path):
    path = tmp_path / "credentials.yml"
    path.write_text(BLOCK, encoding="utf-8")
    credentials = load_credentials_file(path, {"WX_SECRET": APP_SECRET, "WX_PATH": "api"})
    assert credentials is not None
    assert credentials.app_secret == APP_SECRET
    assert credentials.api_base_url == "https://wx-proxy.insurer.example/api"


def test_a_missing_variable_is_an_error(tmp_path):
    path = tmp_path / "credentials.yml"
    path.write_text(BLOCK, encoding="utf-8")
    with pytest.raises(ValueError, match="WX_PATH"):
        load_credentials_file(path, {"WX_SECRET": APP_SECRET})


def test_the_shipped_files_do_not_enable_wechat():
    for name in ("credentials.yml", "credentials.production.yml"):
        assert load_credentials_file(PROJECT_ROOT / name, {}) is None


@pytest.mark.parametrize("text", ["rest: [unclosed", "bot.channels.wechat.channel.WeChatInput: just-a-string\n"])
def test_an_unreadable_file_or_block_is_an_error(tmp_path, text):
    path = tmp_path / "credentials.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError):
        load_credentials_file(path, {})
    with pytest.raises(ValueError):
        load_credentials_file(tmp_path / "absent.yml", {})
