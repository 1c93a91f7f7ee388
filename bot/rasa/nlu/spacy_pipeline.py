"""The project's own Chinese spaCy pipeline, built from this source file.

A blank `zh` pipeline with jieba segmentation and an `entity_ruler` that
recognises the structured fields (policy, phone, ID and ticket numbers).
Rasa loads it through `SpacyNLP` and `SpacyEntityExtractor`; nothing is
downloaded and no binary model is committed: `make nlu` writes it to var/.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, List, cast

from spacy.lang.zh import Chinese
from spacy.language import Language

from bot.settings import Settings

if TYPE_CHECKING:
    from spacy.pipeline import EntityRuler

PIPELINE_NAME = "zh_complaints"
PIPELINE_VERSION = "1.0.0"

STRUCTURED_ENTITIES = ("policy_number", "phone_number", "id_number", "ticket_id")

# jieba keeps runs of ASCII letters and digits together, so each number is a
# token (or, for phones written 138-1234-5678 / +86 139 8765 4321, a few).
_TICKET = r"(?i)^TS20\d{12}$"
_MOBILE = r"^1[3-9]\d{9}$"
_ID = r"^\d{17}[\dXx]$"


def token_patterns(policy_number_pattern: str) -> List[Dict]:
    policy = rf"(?i)^(?!TS20\d{{12}}$)(?:{policy_number_pattern})$"
    sep = {"TEXT": {"IN": ["-", "—"]}, "OP": "?"}
    prefix = [{"TEXT": "+", "OP": "?"}, {"TEXT": {"IN": ["86", "0086"]}}, sep]
    split_mobile = [
        {"TEXT": {"REGEX": r"^1[3-9]\d$"}},
        sep,
        {"TEXT": {"REGEX": r"^\d{4}$"}},
        sep,
        {"TEXT": {"REGEX": r"^\d{4}$"}},
    ]
    whole_mobile = [{"TEXT": {"REGEX": _MOBILE}}]
    return [
        {"label": "ticket_id", "pattern": [{"TEXT": {"REGEX": _TICKET}}]},
        {"label": "policy_number", "pattern": [{"TEXT": {"REGEX": policy}}]},
        {"label": "id_number", "pattern": [{"TEXT": {"REGEX": _ID}}]},
        {"label": "phone_number", "pattern": whole_mobile},
        {"label": "phone_number", "pattern": prefix + whole_mobile},
        {"label": "phone_number", "pattern": split_mobile},
        {"label": "phone_number", "pattern": prefix + split_mobile},
    ]


def build_pipeline(settings: Settings) -> Language:
    nlp = Chinese.from_config({"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    nlp.meta.update(
        name=PIPELINE_NAME,
        version=PIPELINE_VERSION,
        description="Rule-based recognition of policy, phone, ID and ticket numbers",
    )
    # Longest match wins where patterns overlap (e.g. +86 prefix or not).
    ruler = cast("EntityRuler", nlp.add_pipe("entity_ruler", config={"overwrite_ents": True}))
    ruler.add_patterns(token_patterns(settings.policy_number_pattern))
    return nlp
