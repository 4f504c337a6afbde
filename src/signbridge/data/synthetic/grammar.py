"""The weather-forecast grammar behind the embedded corpus.

Each sentence is built from *chunks*: a piece of German text (in spoken word order) together with
the glosses that sign it and a *role*. The text is the chunks in the order the template lists them;
the gloss sequence is the chunks' glosses sorted (stably) by role, which gives the sign order of
German Sign Language weather forecasts as in RWTH-PHOENIX-Weather: discourse markers, then time,
then place, then the theme (weather phenomenon, temperature, wind), its modifiers, and the verb
last. Articles, prepositions and auxiliaries carry no gloss. For example
``"am montag regnet es im norden ."`` is signed ``"MONTAG NORDEN REGEN"``.

The wording is a function of the meaning with little free variation, so that the text can be
learnt from the signs. All vocabulary is lower-case German; glosses are upper-case with umlauts
written as AE/OE/UE and ß as SS, as in PHOENIX. The vocabulary is in :mod:`.lexicon`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .lexicon import (
    AIR_ADJ,
    CITIES,
    CLOUD_CHANGES,
    COMPASS,
    CONDITIONS,
    DIRECTIONS,
    EUROPE,
    FREQUENCY,
    INTENSITIES,
    LANDSCAPES,
    MONTHS,
    PART_OF_DAY,
    PHENOMENA,
    PRECIP_VERBS,
    RISKS,
    STATES,
    TIMES,
    WEEKDAYS,
    WIND_STRENGTH,
    cardinal,
    gloss_of,
    number_gloss,
    ordinal,
)

__all__ = [
    "Chunk",
    "TEMPLATES",
    "gloss_of",
    "realise",
    "sample_sentence",
]

# ----------------------------------------------------------------------------- roles (sign order)
DISCOURSE, TIME, PLACE, THEME, MODIFIER, PREDICATE, CLOSING = range(7)


@dataclass(frozen=True)
class Chunk:
    """A piece of a sentence: German words in text order, their glosses, and the sign-order role."""

    words: tuple[str, ...]
    glosses: tuple[str, ...]
    role: int


def _c(text: str, glosses: str, role: int) -> Chunk:
    return Chunk(tuple(text.split()), tuple(glosses.split()), role)


def _pick(rng: np.random.Generator, items, zipf: float = 0.0):
    """One item; with ``zipf`` > 0 earlier items are more frequent (weights 1/(i+1)**zipf)."""
    if zipf > 0:
        weights = 1.0 / np.arange(1, len(items) + 1) ** zipf
        return items[int(rng.choice(len(items), p=weights / weights.sum()))]
    return items[int(rng.integers(len(items)))]


def _place(rng: np.random.Generator) -> Chunk:
    kind = rng.random()
    if kind < 0.45:
        text, gloss = _pick(rng, COMPASS)
    elif kind < 0.7:
        text, gloss = _pick(rng, LANDSCAPES, zipf=0.5)
    elif kind < 0.85:
        state = _pick(rng, STATES)
        text, gloss = f"in {state}", gloss_of(state)
    else:
        city = _pick(rng, CITIES)
        text, gloss = f"in {city}", gloss_of(city)
    return _c(text, gloss, PLACE)


def _time(rng: np.random.Generator, allow_weekday: bool = True) -> Chunk:
    if allow_weekday and rng.random() < 0.35:
        day = _pick(rng, WEEKDAYS)
        return _c(f"am {day}", gloss_of(day), TIME)
    text, gloss = _pick(rng, TIMES, zipf=0.4)
    return _c(text, gloss, TIME)


def _temperature(rng: np.random.Generator, low: int, high: int) -> tuple[int, int]:
    a = int(rng.integers(low, high - 2))
    b = int(rng.integers(a + 2, min(high, a + 9) + 1))
    return a, b


def _number_chunk(n: int, role: int = MODIFIER) -> Chunk:
    if n < 0:
        return _c(f"minus {cardinal(-n)}", f"MINUS {number_gloss(-n)}", role)
    return _c(cardinal(n), number_gloss(n), role)


# ----------------------------------------------------------------------------- templates
def t_intro(rng):
    day = _pick(rng, WEEKDAYS)
    n = int(rng.integers(1, 32))
    month = _pick(rng, MONTHS)
    chunks = [_c("und nun die wettervorhersage", "JETZT WETTER", DISCOURSE)]
    if rng.random() < 0.5:
        chunks.append(_c("für morgen", "MORGEN", TIME))
        chunks.append(_c(day, gloss_of(day), TIME))
    else:
        chunks.append(_c(f"für {day}", gloss_of(day), TIME))
    chunks.append(_c(f"den {ordinal(n)} {month}", f"{number_gloss(n)} {gloss_of(month)}", TIME))
    return chunks


def t_precipitation(rng):
    verb, gloss = _pick(rng, PRECIP_VERBS, zipf=0.8)
    chunks = [_time(rng), _c(f"{verb} es", gloss, THEME), _place(rng)]
    if rng.random() < 0.4:
        adv = _pick(
            rng,
            [
                ("kräftig", "STARK"),
                ("zum teil kräftig", "TEILWEISE STARK"),
                ("nur leicht", "LEICHT"),
                ("länger", "LANG"),
                ("immer wieder", "IMMER WIEDER"),
            ],
        )
        chunks.append(_c(*adv, MODIFIER))
    return chunks


def t_phenomena(rng):
    noun, ngloss = _pick(rng, PHENOMENA, zipf=0.3)
    adj, agloss = _pick(rng, INTENSITIES)
    chunks = [
        _time(rng),
        _c("gibt es", "", PREDICATE),
        _place(rng),
        _c(adj, agloss, MODIFIER),
        _c(noun, ngloss, THEME),
    ]
    if rng.random() < 0.25:
        chunks.insert(3, _c("auch", "AUCH", DISCOURSE))
    return chunks


def t_temperature(rng):
    kind = rng.random()
    time = _time(rng)
    if kind < 0.5:
        a, b = _temperature(rng, -10, 36)
        chunks = [
            _c("die temperaturen liegen", "TEMPERATUR", THEME),
            time,
            _c("zwischen", "", MODIFIER),
            _number_chunk(a),
            _c("und", "BIS", MODIFIER),
            _number_chunk(b),
            _c("grad", "GRAD", MODIFIER),
        ]
        if rng.random() < 0.4:
            place = _place(rng)
            if sum(len(c.words) for c in chunks) + len(place.words) <= 15:
                chunks.append(place)
        return chunks
    if kind < 0.75:
        n = int(rng.integers(5, 38))
        return [
            _c("die höchstwerte erreichen", "MAXIMAL", THEME),
            time,
            _place(rng),
            _number_chunk(n),
            _c("grad", "GRAD", MODIFIER),
        ]
    n = int(rng.integers(-15, 16))
    return [
        _c("in der nacht", "NACHT", TIME),
        _c("sinken", "SINKEN", PREDICATE),
        _c("die werte", "TEMPERATUR", THEME),
        _place(rng),
        _c("auf", "", MODIFIER),
        _number_chunk(n),
        _c("grad", "GRAD", MODIFIER),
    ]


def t_wind(rng):
    strength, sgloss = _pick(rng, WIND_STRENGTH)
    direction, dgloss = _pick(rng, DIRECTIONS)
    chunks = [_time(rng), _c("weht der wind", "WIND", THEME)]
    if rng.random() < 0.5:
        chunks.append(_place(rng))
    chunks += [_c(strength, sgloss, MODIFIER), _c(f"aus {direction}", dgloss, MODIFIER)]
    if rng.random() < 0.3:
        chunks.append(_c("mit sturmböen", "STURM", MODIFIER))
    return chunks


def t_remain(rng):
    cond, gloss = _pick(rng, CONDITIONS)
    verb, vgloss = _pick(rng, [("bleibt", "BLEIBEN"), ("wird", "WERDEN")])
    chunks = [_place(rng), _c(f"{verb} es", vgloss, PREDICATE), _time(rng)]
    if rng.random() < 0.3:
        chunks.append(_c("meist", "MEISTENS", MODIFIER))
    chunks.append(_c(cond, gloss, THEME))
    return chunks


def t_sun(rng):
    freq, fgloss = _pick(rng, FREQUENCY)
    return [
        _time(rng),
        _c("scheint", "", PREDICATE),
        _place(rng),
        _c(freq, fgloss, MODIFIER),
        _c("die sonne", "SONNE", THEME),
    ]


def t_clouds(rng):
    verb, vgloss = _pick(rng, CLOUD_CHANGES)
    adj, agloss = _pick(rng, INTENSITIES[:6])
    direction, dgloss = _pick(rng, DIRECTIONS[:4])
    rest = {"ziehen": "auf", "verschwinden": "wieder", "lockern": "auf"}[verb]
    return [
        _time(rng),
        _c(verb, vgloss, PREDICATE),
        _place(rng),
        _c(f"von {direction}", dgloss, MODIFIER),
        _c(adj, agloss, MODIFIER),
        _c(f"wolken {rest}", "WOLKE", THEME),
    ]


def t_risk(rng):
    noun, gloss = _pick(rng, RISKS)
    return [
        _time(rng),
        _c("kann es", "KOENNEN", PREDICATE),
        _place(rng),
        _c(noun, gloss, THEME),
        _c("geben", "", PREDICATE),
    ]


def t_airmass(rng):
    adj, agloss = _pick(rng, AIR_ADJ)
    direction, dgloss = _pick(rng, DIRECTIONS)
    return [
        _time(rng),
        _c("strömt", "KOMMEN", PREDICATE),
        _c(f"{adj} luft", f"LUFT {agloss}", THEME),
        _c(f"aus {direction}", dgloss, MODIFIER),
        _c("zu uns", "", MODIFIER),
    ]


def t_pressure(rng):
    system, sgloss = _pick(
        rng,
        [
            ("ein hoch", "HOCH"),
            ("ein tief", "TIEF"),
            ("ein kräftiges hoch", "HOCH STARK"),
            ("ein sturmtief", "STURM TIEF"),
        ],
    )
    where, wgloss = _pick(rng, EUROPE)
    verb, vgloss = _pick(
        rng, [("bestimmt", "BESTIMMEN"), ("beeinflusst", "EINFLUSS"), ("bringt uns", "BRINGEN")]
    )
    return [
        _c(f"{system} {where}", f"{wgloss} {sgloss}", PLACE),
        _c(verb, vgloss, PREDICATE),
        _time(rng, allow_weekday=False),
        _c("das wetter", "WETTER", THEME),
    ]


def t_again(rng):
    cond, gloss = _pick(rng, CONDITIONS)
    day = _pick(rng, WEEKDAYS)
    return [
        _c("auch", "AUCH", DISCOURSE),
        _c(f"am {day}", gloss_of(day), TIME),
        _c("wird es", "", PREDICATE),
        _place(rng),
        _c("wieder", "WIEDER", MODIFIER),
        _c(cond, gloss, THEME),
    ]


def t_greeting(rng):
    if rng.random() < 0.5:
        part = _pick(rng, ["abend", "tag", "morgen"])
        return [
            _c(f"guten {part}", f"GUT {gloss_of(part)}", DISCOURSE),
            _c("liebe zuschauerinnen und zuschauer", "LIEB ZUSCHAUER", CLOSING),
        ]
    text, gloss = _pick(rng, PART_OF_DAY)
    return [
        _c("ich wünsche ihnen", "", CLOSING),
        _c("noch einen schönen", "SCHOEN", DISCOURSE),
        _c(text, gloss, DISCOURSE),
    ]


TEMPLATES = [
    (t_intro, 0.07),
    (t_precipitation, 0.14),
    (t_phenomena, 0.13),
    (t_temperature, 0.14),
    (t_wind, 0.09),
    (t_remain, 0.11),
    (t_sun, 0.07),
    (t_clouds, 0.06),
    (t_risk, 0.06),
    (t_airmass, 0.04),
    (t_pressure, 0.04),
    (t_again, 0.03),
    (t_greeting, 0.02),
]
_TEMPLATE_P = np.array([w for _, w in TEMPLATES])
_TEMPLATE_P = _TEMPLATE_P / _TEMPLATE_P.sum()


def sample_sentence(rng: np.random.Generator) -> tuple[str, str]:
    """Sample one sentence: ``(text, gloss)`` with lower-case tokenised text ending in " .".

    The gloss sequence is the chunks' glosses in sign order (stable sort by role).
    """
    template = TEMPLATES[int(rng.choice(len(TEMPLATES), p=_TEMPLATE_P))][0]
    return realise(template(rng))


def realise(chunks: list[Chunk]) -> tuple[str, str]:
    """``(text, gloss)`` of chunks: text in the given order, glosses stably sorted by role."""
    words = [w for chunk in chunks for w in chunk.words]
    ordered = sorted(chunks, key=lambda chunk: chunk.role)
    glosses = [g for chunk in ordered for g in chunk.glosses]
    return " ".join(words) + " .", " ".join(glosses)
