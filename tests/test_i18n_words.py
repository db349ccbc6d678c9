"""Every page word has one definition: a feature cannot silently take another feature's word
(the battery pages once redefined the exchange's 'period' and 'matches_note', so the exchange's
matches page explained itself with the battery text)."""

from __future__ import annotations

import pytest

from resynergy.web import i18n


def test_a_word_defined_twice_with_other_text_is_refused():
    with pytest.raises(ValueError, match="matches_note"):
        i18n.add_words({"matches_note": ("别的说明", "another note")})
    i18n.add_words({"matches_note": i18n.MESSAGES["matches_note"]})  # the same words again are fine


def test_the_exchange_and_battery_pages_keep_their_own_words():
    assert "到厂成本" in i18n.MESSAGES["matches_note"][0]
    assert "危险货物" in i18n.MESSAGES["battery_matches_note"][0]
    assert i18n.MESSAGES["period"] == ("期限", "Period") and i18n.MESSAGES["battery_year"] == ("年度", "Year")
