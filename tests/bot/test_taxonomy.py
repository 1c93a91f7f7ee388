"""The taxonomy file: its categories are the tickets' codes, and a changed file never relabels history."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot import taxonomy as taxonomy_module
from bot.settings import Settings
from bot.step_content import RootCauses
from bot.taxonomy import RETIRED, UNCLASSIFIED, Taxonomy
from bot.tickets import CATEGORY_LABELS


def test_the_ticket_categories_and_their_labels_come_from_the_shipped_file() -> None:
    taxonomy = Taxonomy.load(Settings.from_env({}).taxonomy_file)
    assert {code: item.label for code, item in taxonomy.categories.items()} == CATEGORY_LABELS
    assert CATEGORY_LABELS is taxonomy_module.CATEGORY_LABELS  # one source, re-exported by bot.tickets
    assert list(CATEGORY_LABELS)[:3] == ["sales", "surrender", "claims"] and CATEGORY_LABELS["claims"] == "理赔纠纷"
    assert all(item.sub_reasons for item in taxonomy.categories.values())
    assert taxonomy.categories["claims"].sub_reasons["claim_timeliness"] == "理赔时效"


def test_the_lifecycle_reads_its_root_causes_from_the_same_file() -> None:
    path = Settings.from_env({}).taxonomy_file
    assert RootCauses.load(path) == Taxonomy.load(path).root_causes
    assert RootCauses.load(path).usually_controllable["data_entry_error"] is True


def test_codes_a_changed_file_no_longer_lists_show_as_themselves_marked_retired(tmp_path: Path) -> None:
    data = yaml.safe_load(Settings.from_env({}).taxonomy_file.read_text(encoding="utf-8"))
    del data["categories"]["claims"]["sub_reasons"]["claim_timeliness"]
    del data["root_causes"]["service_attitude"]
    data["categories"]["claims"]["label"] = "理赔"
    changed = tmp_path / "taxonomy.yml"
    changed.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    taxonomy = Taxonomy.load(changed)

    assert taxonomy.category_label("claims") == "理赔"
    assert taxonomy.category_label("travel") == "travel" + RETIRED
    assert taxonomy.sub_reason_label("claims", "claim_timeliness") == "claim_timeliness" + RETIRED
    assert taxonomy.sub_reason_label("claims", "claim_result") == "理赔结果（拒赔、赔付金额）"
    assert taxonomy.sub_reason_label("claims", "理赔结果（拒赔、赔付金额）") == "理赔结果（拒赔、赔付金额）"
    assert taxonomy.sub_reason_label("claims", None) == UNCLASSIFIED
    assert taxonomy.root_cause_label("service_attitude") == "service_attitude" + RETIRED
    assert taxonomy.sub_reason_code("claims", "理赔结果（拒赔、赔付金额）") == "claim_result"
    assert taxonomy.sub_reason_code("claims", "claim_timeliness") == "claim_timeliness"  # kept as stored
    assert taxonomy.sub_reason_code("claims", None) == ""


@pytest.mark.parametrize(
    "text, message",
    [
        ("version: '1'\n", "lists no complaint categories"),
        ("categories: {claims: {sub_reasons: {}}}\n", "has no label"),
        ("categories: {claims: {label: 理赔}}\n", "lists no root-cause categories"),
    ],
)
def test_a_broken_file_is_refused_with_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "taxonomy.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        Taxonomy.load(path)
