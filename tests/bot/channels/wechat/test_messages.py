"""Parsing callbacks safely and rendering replies that survive any content."""

from __future__ import annotations

import pytest

from bot.channels.wechat.messages import (
    InboundMessage,
    MalformedMessage,
    UnsafeXml,
    decode_body,
    merge_texts,
    parse_fields,
    render_text_reply,
    split_text,
    text_with_buttons,
    utf8_size,
)

TEXT = (
    "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oUser_1-x]]></FromUserName>"
    "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[我要投诉]]></Content><MsgId>123456789</MsgId></xml>"
)


def test_parses_a_text_message():
    message = InboundMessage.from_fields(parse_fields(TEXT))
    assert message == InboundMessage(
        to_user="gh_1",
        from_user="oUser_1-x",
        create_time=1700000000,
        msg_type="text",
        msg_id="123456789",
        content="我要投诉",
    )
    assert message.dedupe_key() == "msg|gh_1|123456789"


def test_events_are_deduplicated_by_sender_time_and_event():
    fields = parse_fields(
        TEXT.replace("<MsgId>123456789</MsgId>", "").replace(
            "<MsgType><![CDATA[text]]></MsgType>",
            "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[CLICK]]></Event>"
            "<EventKey><![CDATA[HUMAN]]></EventKey>",
        )
    )
    click = InboundMessage.from_fields(fields)
    assert click.event == "click" and click.event_key == "HUMAN" and click.msg_id is None
    subscribe = InboundMessage.from_fields({**fields, "Event": "subscribe", "EventKey": ""})
    assert click.dedupe_key() == "event|gh_1|oUser_1-x|1700000000|click|HUMAN"
    assert subscribe.dedupe_key() != click.dedupe_key()  # same second, different events


XXE_BODIES = [
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    "<xml><Content>&xxe;</Content></xml>",
    '<!doctype xml [<!entity a "aaaaaaaaaa">]><xml><Content>&a;&a;</Content></xml>',
    '<!ENTITY a "x"><xml/>',
    "<! DOCTYPE xml><xml/>",
]


@pytest.mark.parametrize("body", XXE_BODIES)
def test_dtd_and_entities_are_refused_before_parsing(body):
    with pytest.raises(UnsafeXml):
        parse_fields(body)


def test_an_undeclared_entity_is_malformed():
    with pytest.raises(MalformedMessage):
        parse_fields("<xml><Content>&xxe;</Content></xml>")


def test_utf16_cannot_hide_a_doctype():
    hidden = '<!DOCTYPE xml [<!ENTITY a SYSTEM "file:///etc/passwd">]><xml><Content>&a;</Content></xml>'
    with pytest.raises(MalformedMessage):
        parse_fields(decode_body(hidden.encode("utf-16")))


@pytest.mark.parametrize("document", ["not xml", "<notxml/>", "<xml><a>1</xml>", ""])
def test_malformed_documents_are_refused(document):
    with pytest.raises(MalformedMessage):
        parse_fields(document)


@pytest.mark.parametrize(
    "field,value",
    [
        ("FromUserName", "o<script>"),
        ("FromUserName", ""),
        ("CreateTime", "12ab"),
        ("MsgId", "-1"),
        ("MsgType", "text!"),
        ("ToUserName", "x" * 65),
    ],
)
def test_fields_are_validated(field, value):
    fields = parse_fields(TEXT)
    fields[field] = value
    with pytest.raises(MalformedMessage):
        InboundMessage.from_fields(fields)


@pytest.mark.parametrize(
    "content",
    [
        "用户说 ]]> 然后 <xml> & </Content>",
        "]]>]]>",
        "结尾]]",
        "控制字符\x01\x08保留其余",
    ],
)
def test_reply_content_survives_cdata_breakers(content):
    document = render_text_reply("oUser", "gh_1", content, 1700000000)
    fields = parse_fields(document)
    assert fields["Content"] == content.replace("\x01", "").replace("\x08", "")
    assert fields["ToUserName"] == "oUser" and fields["MsgType"] == "text"


def test_split_respects_the_byte_limit_and_characters():
    text = "投诉" * 1500  # 9000 bytes of 3-byte characters
    pieces = split_text(text, 2048)
    assert all(utf8_size(piece) <= 2048 for piece in pieces)
    assert "".join(pieces) == text
    assert len(pieces) == 5


def test_split_prefers_line_breaks():
    lines = ["第%d行：" % i + "内容" * 100 for i in range(10)]
    pieces = split_text("\n".join(lines), 2048)
    assert all(utf8_size(piece) <= 2048 for piece in pieces)
    for piece in pieces:  # every piece starts at the beginning of a line
        assert piece.startswith("第")
    assert "\n".join(pieces) == "\n".join(lines)


def test_merge_packs_texts_into_as_few_messages_as_fit():
    assert merge_texts(["您好", "  ", "请问有什么可以帮您？"]) == ["您好\n\n请问有什么可以帮您？"]
    big = "长" * 600  # 1800 bytes
    merged = merge_texts(["短消息", big, big, "结束"], 2048)
    assert merged == ["短消息\n\n" + big, big + "\n\n结束"]
    assert merge_texts([]) == []


def test_buttons_become_reply_options():
    rendered = text_with_buttons(
        "请选择：",
        [{"title": "我要投诉", "payload": "/complain"}, {"title": "查询投诉进度", "payload": "/check_ticket_status"}],
    )
    assert rendered == "请选择：\n可回复：我要投诉｜查询投诉进度"
    assert "/complain" not in rendered
