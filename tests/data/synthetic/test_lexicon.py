"""The grammar's vocabulary: PHOENIX gloss spelling and German number words."""

from __future__ import annotations

from signbridge.data.synthetic.lexicon import cardinal, gloss_of, number_gloss, ordinal


def test_gloss_spelling():
    assert gloss_of("süden") == "SUEDEN"
    assert gloss_of("glätte") == "GLAETTE"
    assert gloss_of("köln") == "KOELN"
    assert gloss_of("heiß") == "HEISS"


def test_number_words():
    assert [cardinal(n) for n in (0, 1, 13, 20, 21, 30, 37)] == [
        "null",
        "eins",
        "dreizehn",
        "zwanzig",
        "einundzwanzig",
        "dreißig",
        "siebenunddreißig",
    ]
    assert [ordinal(n) for n in (1, 2, 3, 7, 8, 12, 20, 31)] == [
        "ersten",
        "zweiten",
        "dritten",
        "siebten",
        "achten",
        "zwölften",
        "zwanzigsten",
        "einunddreißigsten",
    ]
    # ordinals are signed with the number sign of the cardinal
    assert number_gloss(1) == "EINS" and number_gloss(12) == "ZWOELF" and number_gloss(30) == "DREISSIG"
