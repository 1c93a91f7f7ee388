"""A burst of quick messages is answered as one turn (bot/channels/bursts.py)."""

from __future__ import annotations

import asyncio
from typing import List

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.channels.bursts import Bursts


class SlowRasa:
    """Handles one message at a time, slowly, and remembers what it was given."""

    def __init__(self) -> None:
        self.turns: List[UserMessage] = []

    async def __call__(self, message: UserMessage) -> None:
        self.turns.append(message)
        await asyncio.sleep(0.05)
        await message.output_channel.send_text_message(message.sender_id, f"答复{len(self.turns)}")


def message(text: str, sender: str = "u1") -> UserMessage:
    return UserMessage(text, CollectingOutputChannel(), sender, input_channel="rest", message_id=text)


async def burst(bursts: Bursts, messages: List[UserMessage]) -> None:
    tasks = []
    for item in messages:
        tasks.append(asyncio.create_task(bursts(item)))
        await asyncio.sleep(0.001)  # in order of arrival
    await asyncio.gather(*tasks)


def test_messages_arriving_during_a_turn_are_joined_into_the_next_one() -> None:
    rasa = SlowRasa()
    messages = [message(text) for text in ("在吗", "你好", "我要投诉", "理赔拖了三个月了", "一分钱没赔")]
    asyncio.run(burst(Bursts(rasa), messages))
    assert [turn.text for turn in rasa.turns] == ["在吗", "你好\n我要投诉\n理赔拖了三个月了\n一分钱没赔"]
    assert rasa.turns[1].metadata["burst"] == ["你好", "我要投诉", "理赔拖了三个月了", "一分钱没赔"]
    # Each turn answered once, through the last joined message's channel.
    answered = [m.output_channel.messages for m in messages]  # type: ignore[attr-defined]
    assert [len(a) for a in answered] == [1, 0, 0, 0, 1]
    assert rasa.turns[1].message_id == "一分钱没赔"


def test_a_button_tap_is_never_joined_with_typed_text() -> None:
    rasa = SlowRasa()
    asyncio.run(burst(Bursts(rasa), [message("你好"), message("/affirm"), message("对"), message("是的")]))
    assert [turn.text for turn in rasa.turns] == ["你好", "/affirm", "对\n是的"]


def test_other_conversations_are_not_held_up_or_joined() -> None:
    rasa = SlowRasa()
    asyncio.run(burst(Bursts(rasa), [message("你好", "a"), message("你好", "b"), message("在吗", "a")]))
    assert sorted((t.sender_id, t.text) for t in rasa.turns) == [("a", "你好"), ("a", "在吗"), ("b", "你好")]


def test_a_failed_turn_fails_every_message_joined_into_it() -> None:
    calls: List[str] = []

    async def broken(item: UserMessage) -> None:
        calls.append(item.text or "")
        await asyncio.sleep(0.02)
        if len(calls) > 1:
            raise RuntimeError("lock store down")

    async def run() -> List[object]:
        bursts = Bursts(broken)
        tasks = []
        for text in ("在吗", "我要投诉", "理赔太慢"):
            tasks.append(asyncio.create_task(bursts(message(text))))
            await asyncio.sleep(0.001)
        return await asyncio.gather(*tasks, return_exceptions=True)

    outcomes = asyncio.run(run())
    assert outcomes[0] is None
    assert all(isinstance(outcome, RuntimeError) for outcome in outcomes[1:])
    assert calls == ["在吗", "我要投诉\n理赔太慢"]


def test_a_message_sent_right_after_the_previous_waits_for_the_rest_of_the_burst() -> None:
    rasa = SlowRasa()

    async def run() -> None:
        bursts = Bursts(rasa, window_seconds=0.2)
        await bursts(message("在吗"))  # answered at once: nothing came before it
        tasks = []
        for text in ("你好", "我要投诉", "理赔拖了三个月了"):
            tasks.append(asyncio.create_task(bursts(message(text))))
            await asyncio.sleep(0.08)  # slower than a turn, quicker than the window
        await asyncio.gather(*tasks)

    asyncio.run(run())
    assert [turn.text for turn in rasa.turns] == ["在吗", "你好\n我要投诉\n理赔拖了三个月了"]


def test_messages_at_a_normal_pace_are_not_held() -> None:
    rasa = SlowRasa()

    async def run() -> float:
        bursts = Bursts(rasa, window_seconds=0.1)
        loop = asyncio.get_running_loop()
        await bursts(message("我要投诉"))
        await asyncio.sleep(0.15)
        started = loop.time()
        await bursts(message("理赔拖了三个月了"))
        return loop.time() - started

    took = asyncio.run(run())
    assert [turn.text for turn in rasa.turns] == ["我要投诉", "理赔拖了三个月了"]
    assert took < 0.1  # the turn's own 0.05 s, no window


def test_a_message_sent_too_soon_after_a_slow_answer_to_have_read_it_waits_for_the_burst() -> None:
    class VerySlowRasa(SlowRasa):
        async def __call__(self, message: UserMessage) -> None:
            await asyncio.sleep(0.3)  # longer than the window
            await super().__call__(message)

    rasa = VerySlowRasa()

    async def run() -> None:
        bursts = Bursts(rasa, window_seconds=0.2)
        await bursts(message("在吗"))
        first = asyncio.create_task(bursts(message("你好")))
        await asyncio.sleep(0.05)
        await asyncio.gather(first, bursts(message("我要投诉")))

    asyncio.run(run())
    assert [turn.text for turn in rasa.turns] == ["在吗", "你好\n我要投诉"]
