"""The normalisation NLU reads, and its map back to what the user typed."""

from __future__ import annotations

from bot.text_normalisation import normalise


def test_full_width_digits_and_letters_become_ascii_at_the_same_offsets():
    original = "保單號ＡＢ１２３４５６７８９"
    result = normalise(original)
    assert result.text == "保单号AB123456789"
    start = result.text.index("AB")
    assert result.original_span(start, len(result.text)) == (3, len(original))
    assert original[3:] == "ＡＢ１２３４５６７８９"


def test_traditional_characters_become_simplified():
    result = normalise("我要投訴理賠太慢，後來也沒人回覆")
    assert result.text == "我要投诉理赔太慢,后来也没人回复"
    start = result.text.index("理赔")
    assert result.original_span(start, start + 2) == (4, 6)


def test_whitespace_between_chinese_characters_is_dropped_and_the_offsets_follow():
    original = "  我 要  投诉 电话 138 1234 5678  "
    result = normalise(original)
    assert result.text == "我要投诉电话 138 1234 5678"
    start = result.text.index("138")
    begin, end = result.original_span(start, len(result.text))
    assert original[begin:end] == "138 1234 5678"
    assert result.normalised_span(begin, end) == (start, len(result.text))


def test_repeated_punctuation_becomes_one_mark_spanning_the_run():
    original = "怎么还没人联系我？？？！！"
    result = normalise(original)
    assert result.text == "怎么还没人联系我?!"
    assert result.original_span(len(result.text) - 2, len(result.text)) == (8, 13)


def test_emoji_and_lone_surrogates_keep_their_place():
    original = "😡\ud83d理賠👨\u200d👩😀"
    result = normalise(original)
    assert result.text == "😡\ud83d理赔👨\u200d👩😀"
    start = result.text.index("理赔")
    assert result.original_span(start, start + 2) == (2, 4)


def test_invisible_characters_are_dropped():
    original = "投\u200b訴\ufeff"
    result = normalise(original)
    assert result.text == "投诉"
    assert result.original_span(0, 2) == (0, 3)


def test_a_span_of_dropped_characters_has_no_normalised_span():
    result = normalise("我 要")
    assert result.normalised_span(1, 2) is None
    assert result.original_span(1, 1) == (2, 2)


def test_text_already_normal_is_unchanged():
    original = "我要投诉,保单号P12345678"
    result = normalise(original)
    assert result.text == original
    assert result.starts == tuple(range(len(original)))
