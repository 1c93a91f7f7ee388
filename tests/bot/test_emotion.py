from bot.emotion import is_distressed


def test_angry_and_distressed_messages_are_detected():
    assert is_distressed("你们这群骗子！理赔拖了三个月")
    assert is_distressed("我妈还在医院躺着，你们还不赔，急死了")
    assert is_distressed("为什么还没处理？？？")


def test_calm_messages_are_not():
    assert not is_distressed("我想投诉一下理赔进度")
    assert not is_distressed("")
