import pytest

from bot.person_requests import mentions_a_person, wants_a_person


@pytest.mark.parametrize(
    "text", ["我年纪大了 字看不清 你给我找个真人说话", "我要跟真人说话", "叫你们经理来", "人工呢", "转人工"]
)
def test_asking_for_a_person(text):
    assert wants_a_person(text) and mentions_a_person(text)


@pytest.mark.parametrize("text", ["钱赶紧给我", "把钱赔给我", "帮我写个请假条", "尽快书面答复"])
def test_demands_that_name_no_person(text):
    assert not wants_a_person(text) and not mentions_a_person(text)


def test_naming_a_person_without_asking_for_one():
    assert mentions_a_person("你是真人吗") and not wants_a_person("你是真人吗")
