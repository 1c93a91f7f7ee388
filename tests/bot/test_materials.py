from pathlib import Path

import pytest
import yaml

from bot import materials
from bot.rasa.nlu.vocabulary import CLAIM_TYPES

KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge" / "claim_materials.yml"


@pytest.fixture
def script():
    return materials.load(KNOWLEDGE)


def test_knowledge_file_is_reviewed_and_versioned(script):
    assert script.version and script.reviewed_version and script.reviewed_by and script.reviewed_on
    assert script.general_notes[-1] == "以上为通用清单，具体以您保单条款列明为准。"


@pytest.mark.parametrize("claim_type", CLAIM_TYPES)
def test_every_claim_type_lists_each_document_with_its_reason(script, claim_type):
    text = script.reasons(claim_type)
    kind = script.claim_types[claim_type]
    for doc in kind.documents:
        assert f"{doc.name}：{doc.reason}" in text
    assert "以您保单条款列明为准" in text


REVIEW_WORDS = ("话术版本", "审核", "reviewed")


@pytest.mark.parametrize("claim_type", CLAIM_TYPES)
def test_no_review_note_reaches_the_policyholder(script, claim_type):
    for text in (script.summary(claim_type), script.reasons(claim_type), script.render(claim_type)):
        assert not any(word in text for word in REVIEW_WORDS)
        assert script.version not in text and script.reviewed_by not in text
    assert script.metadata()["script_version"] == script.version


@pytest.mark.parametrize("claim_type", CLAIM_TYPES)
def test_summary_is_phone_sized_and_says_how_to_apply(script, claim_type):
    summary = script.summary(claim_type)
    assert len(summary) <= 260  # the 1.0.0 answers ran to 600-900 characters
    assert "申请方式" in summary and "客服电话" in summary
    for doc in script.claim_types[claim_type].documents:
        assert doc.short in summary
        assert doc.reason not in summary  # reasons are shown on request


def test_condolence_where_the_claim_type_calls_for_it(script):
    assert script.summary("death").startswith("得知您的亲人离世")
    assert "节哀" in script.summary("death")
    assert "早日康复" in script.summary("critical_illness")
    assert not script.summary("medical").startswith("得知")


def test_rendering_is_deterministic_and_differs_per_type(script):
    assert script.render("death") == materials.parse(yaml.safe_load(KNOWLEDGE.read_text("utf-8"))).render("death")
    assert len({script.render(kind) for kind in CLAIM_TYPES}) == len(CLAIM_TYPES)


def test_death_mentions_apostille_and_small_claims_note(script):
    death = script.reasons("death")
    assert "Apostille" in death or "附加证明书" in death
    assert "3000" in script.reasons("medical")


def test_why_question_finds_the_longest_alias(script):
    assert script.documents_mentioned("为什么要受益人身份证") == ["beneficiary_id"]
    assert script.documents_mentioned("户籍注销证明有什么用") == ["household_cancellation"]
    assert "户籍注销证明" in script.explain("household_cancellation")


def test_unknown_document_reference_is_rejected():
    raw = yaml.safe_load(KNOWLEDGE.read_text("utf-8"))
    raw["claim_types"]["medical"]["documents"].append("no_such_document")
    with pytest.raises(materials.MaterialsFileError, match="no_such_document"):
        materials.parse(raw)


def test_missing_review_field_is_rejected():
    raw = yaml.safe_load(KNOWLEDGE.read_text("utf-8"))
    del raw["reviewed_by"]
    with pytest.raises(materials.MaterialsFileError, match="reviewed_by"):
        materials.parse(raw)


def test_missing_how_to_apply_is_rejected():
    raw = yaml.safe_load(KNOWLEDGE.read_text("utf-8"))
    del raw["how_to_apply"]
    with pytest.raises(materials.MaterialsFileError, match="how_to_apply"):
        materials.parse(raw)


def test_a_draft_claims_no_review_it_did_not_have():
    raw = yaml.safe_load(KNOWLEDGE.read_text("utf-8"))
    draft = materials.parse({**raw, "version": "1.2.0-draft", "reviewed_version": "1.1.0"})
    assert draft.is_draft
    assert draft.metadata() == {"script_version": "1.2.0-draft", "review_status": "draft"}
    assert draft.draft_warning() == (
        "the claim-materials script is the unreviewed draft 1.2.0-draft (last reviewed: 1.1.0); "
        "release a reviewed version as README.md says (Claim-materials script)"
    )
    # Released: the review names this very version.
    released = materials.parse({**raw, "version": "1.2.0", "reviewed_version": "1.2.0", "reviewed_on": "2026-12-20"})
    assert not released.is_draft and released.draft_warning() is None
    assert released.metadata() == {
        "script_version": "1.2.0",
        "review_status": "reviewed",
        "reviewed_by": raw["reviewed_by"],
        "reviewed_on": "2026-12-20",
    }
    # A version number without its review is still a draft.
    assert materials.parse({**raw, "version": "1.2.0", "reviewed_version": "1.1.0"}).is_draft


def test_missing_reviewed_version_is_rejected():
    raw = yaml.safe_load(KNOWLEDGE.read_text("utf-8"))
    del raw["reviewed_version"]
    with pytest.raises(materials.MaterialsFileError, match="reviewed_version"):
        materials.parse(raw)
