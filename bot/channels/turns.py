"""What every chat channel puts between its webhook and Rasa: bursts joined into one turn
(bot/channels/bursts.py), and an answer to a user waiting in the queue (bot/channels/queued.py)."""

from __future__ import annotations

from sanic import Blueprint

from bot.channels.bursts import Bursts, Handler
from bot.channels.queued import QueuedAnswers
from bot.settings import Settings


def channel_turns(on_new_message: Handler, blueprint: Blueprint, settings: Settings) -> Handler:
    """The channel's `on_new_message`, wrapped; the blueprint is where Rasa's agent is found."""
    queued = QueuedAnswers(on_new_message, settings)
    queued.attach(blueprint)
    return Bursts(queued, settings.burst_window_ms / 1000)
