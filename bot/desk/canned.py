"""Canned replies for agents: the reviewed claim-materials script and the reviewed reply templates."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Tuple

import yaml
from sanic import Blueprint, Request, response
from sanic.response import HTTPResponse

from bot import materials
from bot.desk.context import desk_of

MAX_TEMPLATE = 2000  # what the message box takes


class TemplatesFileError(ValueError):
    """The reply-templates file is missing a field or has a text too long to send."""


@dataclass(frozen=True)
class ReplyTemplate:
    id: str
    title: str
    text: str


@lru_cache(maxsize=4)
def load_templates(path: Path) -> Tuple[ReplyTemplate, ...]:
    """The reviewed templates, checked once per file."""
    with open(path, encoding="utf-8") as handle:
        raw = yaml.safe_load(handle) or {}
    for key in ("version", "reviewed_by", "reviewed_on"):
        if not raw.get(key):
            raise TemplatesFileError(f"{path}: missing '{key}'")
    templates = []
    for item in raw.get("templates") or ():
        values = [str(item.get(key) or "").strip() for key in ("id", "title", "text")]
        if not all(values):
            raise TemplatesFileError(f"{path}: every template needs id, title and text")
        if len(values[2]) > MAX_TEMPLATE:
            raise TemplatesFileError(f"{path}: template {values[0]} is longer than {MAX_TEMPLATE} characters")
        templates.append(ReplyTemplate(*values))
    if len({template.id for template in templates}) != len(templates):
        raise TemplatesFileError(f"{path}: template ids must be unique")
    return tuple(templates)


def canned_replies(materials_file: Path, templates_file: Path) -> Dict[str, List[Dict[str, Any]]]:
    """The claim-materials script per claim type (the bytes the bot sends) and the reply templates."""
    script = materials.load(materials_file)
    return {
        "materials": [
            {"id": f"materials:{kind}", "title": script.claim_type_name(kind), "text": script.render(kind)}
            for kind in script.claim_types
        ],
        "templates": [
            {"id": f"template:{item.id}", "title": item.title, "text": item.text}
            for item in load_templates(templates_file)
        ],
    }


async def canned(request: Request) -> HTTPResponse:
    settings = desk_of(request).settings
    return response.json(
        await asyncio.to_thread(canned_replies, settings.materials_file, settings.reply_templates_file)
    )


def blueprint() -> Blueprint:
    """A new blueprint for one app (blueprints remember the apps they are registered with)."""
    bp = Blueprint("canned")
    bp.get("/api/canned-replies")(canned)
    return bp
