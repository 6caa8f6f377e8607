from __future__ import annotations

from pydicom.datadict import keyword_dict, tag_for_keyword

from local.healthimaging.dicom_levels import level_of as emulator_level_of
from updater.imports.levels import KEYWORDS_BY_LEVEL, AttributeLevel, keyword_problem, level_of


def test_the_level_table_names_only_standard_keywords_each_at_one_level() -> None:
    seen: set[str] = set()
    for keywords in KEYWORDS_BY_LEVEL.values():
        assert not keywords & seen
        seen |= keywords
    assert [keyword for keyword in seen if tag_for_keyword(keyword) is None] == []


def test_the_level_table_agrees_with_the_emulators_normalization() -> None:
    # Both follow the developer guide's normalization table; a disagreement means the emulator (and
    # so, probably, the service) would reject updates the planner puts at the wrong level.
    disagreements = [
        keyword
        for keyword in keyword_dict
        if emulator_level_of(keyword).name.lower() != level_of(keyword).value.lower()
    ]
    assert disagreements == []


def test_unlisted_keywords_live_on_the_instances() -> None:
    assert level_of("ImageComments") is AttributeLevel.INSTANCE
    assert level_of("StationName") is AttributeLevel.SERIES


def test_generated_and_force_only_keywords_are_refused() -> None:
    assert "generated" in str(keyword_problem("FrameSizeInBytes"))
    assert "force" in str(keyword_problem("SeriesInstanceUID"))
    assert keyword_problem("StationName") is None
