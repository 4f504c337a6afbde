"""The vocabulary of the weather-forecast grammar: German words and phrases with their glosses.

Word lists (weekdays, months, places, times, weather conditions and phenomena, wind, ...) as
``(text, gloss)`` pairs or plain words, German number words (:func:`cardinal`, :func:`ordinal`)
and the PHOENIX spelling of glosses (:func:`gloss_of`: upper case, umlauts as AE/OE/UE, ß as SS).
The sentence templates that combine them are in :mod:`.grammar`.
"""

from __future__ import annotations


def gloss_of(word: str) -> str:
    """The PHOENIX-style gloss spelling of a German word (upper case, AE/OE/UE/SS)."""
    out = word.upper()
    for a, b in (("Ä", "AE"), ("Ö", "OE"), ("Ü", "UE"), ("ß", "SS")):
        out = out.replace(a, b)
    return out


WEEKDAYS = ["montag", "dienstag", "mittwoch", "donnerstag", "freitag", "samstag", "sonntag"]
MONTHS = [
    "januar",
    "februar",
    "märz",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "dezember",
]
_UNITS = [
    "null",
    "eins",
    "zwei",
    "drei",
    "vier",
    "fünf",
    "sechs",
    "sieben",
    "acht",
    "neun",
    "zehn",
    "elf",
    "zwölf",
    "dreizehn",
    "vierzehn",
    "fünfzehn",
    "sechzehn",
    "siebzehn",
    "achtzehn",
    "neunzehn",
    "zwanzig",
]


def cardinal(n: int) -> str:
    """German cardinal number word for 0 <= n <= 39."""
    if n <= 20:
        return _UNITS[n]
    tens, unit = divmod(n, 10)
    tens_word = {2: "zwanzig", 3: "dreißig"}[tens]
    if unit == 0:
        return tens_word
    unit_word = "ein" if unit == 1 else _UNITS[unit]
    return f"{unit_word}und{tens_word}"


_ORDINAL_IRREGULAR = {1: "ersten", 3: "dritten", 7: "siebten", 8: "achten"}


def ordinal(n: int) -> str:
    """German dative ordinal ("am zwölften") for 1 <= n <= 31."""
    if n in _ORDINAL_IRREGULAR:
        return _ORDINAL_IRREGULAR[n]
    base = cardinal(n)
    return base + ("sten" if n >= 20 else "ten")


# Number glosses are the cardinal word (ordinals are signed with the same number sign).
def number_gloss(n: int) -> str:
    return gloss_of("eins" if n == 1 else cardinal(n))


# (text after the preposition, gloss); the preposition comes from the entry's own phrase.
COMPASS = [
    ("im norden", "NORDEN"),
    ("im süden", "SUEDEN"),
    ("im osten", "OSTEN"),
    ("im westen", "WESTEN"),
    ("im nordwesten", "NORDWEST"),
    ("im nordosten", "NORDOST"),
    ("im südwesten", "SUEDWEST"),
    ("im südosten", "SUEDOST"),
    ("in der mitte", "MITTE"),
]
LANDSCAPES = [
    ("an der küste", "KUESTE"),
    ("an der nordsee", "NORDSEE"),
    ("an der ostsee", "OSTSEE"),
    ("in den alpen", "ALPEN"),
    ("am alpenrand", "ALPENRAND"),
    ("im bergland", "BERG"),
    ("im flachland", "FLACHLAND"),
    ("im harz", "HARZ"),
    ("im schwarzwald", "SCHWARZWALD"),
    ("im erzgebirge", "ERZGEBIRGE"),
    ("im allgäu", "ALLGAEU"),
    ("in der eifel", "EIFEL"),
    ("am oberrhein", "OBERRHEIN"),
    ("an der donau", "DONAU"),
    ("an der elbe", "ELBE"),
    ("im rheinland", "RHEINLAND"),
    ("in den mittelgebirgen", "MITTELGEBIRGE"),
    ("auf den inseln", "INSEL"),
    ("in den tälern", "TAL"),
    ("auf den gipfeln", "GIPFEL"),
]
STATES = [
    "bayern",
    "baden-württemberg",
    "hessen",
    "thüringen",
    "sachsen",
    "sachsen-anhalt",
    "brandenburg",
    "berlin",
    "mecklenburg-vorpommern",
    "schleswig-holstein",
    "hamburg",
    "bremen",
    "niedersachsen",
    "nordrhein-westfalen",
    "rheinland-pfalz",
    "saarland",
]
CITIES = [
    "münchen",
    "köln",
    "frankfurt",
    "stuttgart",
    "düsseldorf",
    "dortmund",
    "essen",
    "leipzig",
    "dresden",
    "hannover",
    "nürnberg",
    "duisburg",
    "bochum",
    "wuppertal",
    "bielefeld",
    "bonn",
    "münster",
    "karlsruhe",
    "mannheim",
    "augsburg",
    "wiesbaden",
    "kiel",
    "rostock",
    "magdeburg",
    "erfurt",
    "potsdam",
    "schwerin",
    "mainz",
    "freiburg",
    "regensburg",
    "würzburg",
    "passau",
    "kassel",
    "göttingen",
    "osnabrück",
    "trier",
    "aachen",
    "lübeck",
    "chemnitz",
    "cottbus",
]
EUROPE = [
    ("über skandinavien", "SKANDINAVIEN"),
    ("über frankreich", "FRANKREICH"),
    ("über polen", "POLEN"),
    ("über der nordsee", "NORDSEE"),
    ("über dem atlantik", "ATLANTIK"),
    ("über den britischen inseln", "ENGLAND"),
    ("über osteuropa", "OSTEUROPA"),
    ("über italien", "ITALIEN"),
    ("über spanien", "SPANIEN"),
    ("über russland", "RUSSLAND"),
    ("über island", "ISLAND"),
    ("über dem mittelmeer", "MITTELMEER"),
]
# time expressions: (text, glosses)
TIMES = [
    ("heute", "HEUTE"),
    ("morgen", "MORGEN"),
    ("übermorgen", "UEBERMORGEN"),
    ("heute nacht", "HEUTE NACHT"),
    ("morgen früh", "MORGEN FRUEH"),
    ("in der nacht", "NACHT"),
    ("am tag", "TAG"),
    ("am vormittag", "VORMITTAG"),
    ("am nachmittag", "NACHMITTAG"),
    ("am abend", "ABEND"),
    ("am wochenende", "WOCHENENDE"),
    ("in der neuen woche", "NEU WOCHE"),
    ("im laufe des tages", "TAG VERLAUF"),
    ("später", "SPAETER"),
    ("zunächst", "ZUERST"),
]
# dry/fair conditions for "bleibt es ..." / "wird es ..." (predicative adjective, gloss)
CONDITIONS = [
    ("trocken", "TROCKEN"),
    ("freundlich", "FREUNDLICH"),
    ("sonnig", "SONNE"),
    ("bewölkt", "WOLKE"),
    ("neblig", "NEBEL"),
    ("kühl", "KUEHL"),
    ("mild", "MILD"),
    ("warm", "WARM"),
    ("kalt", "KALT"),
    ("frostig", "FROST"),
    ("windig", "WIND"),
    ("wechselhaft", "WECHSELHAFT"),
    ("heiter", "HEITER"),
    ("trüb", "TRUEB"),
    ("schwül", "SCHWUEL"),
    ("heiß", "HEISS"),
    ("frisch", "FRISCH"),
    ("nass", "NASS"),
    ("stürmisch", "STURM"),
    ("glatt", "GLATT"),
    ("sommerlich", "SOMMER"),
    ("winterlich", "WINTER"),
    ("herbstlich", "HERBST"),
    ("unbeständig", "UNBESTAENDIG"),
]
# precipitation verbs "... regnet es ..."
PRECIP_VERBS = [
    ("regnet", "REGEN"),
    ("schneit", "SCHNEE"),
    ("gewittert", "GEWITTER"),
    ("nieselt", "NIESEL"),
    ("hagelt", "HAGEL"),
    ("graupelt", "GRAUPEL"),
    ("stürmt", "STURM"),
    ("taut", "TAUEN"),
]
# plural phenomena for "gibt es ... <adj> <noun>" (noun, gloss)
PHENOMENA = [
    ("schauer", "SCHAUER"),
    ("gewitter", "GEWITTER"),
    ("regenfälle", "REGEN"),
    ("schneefälle", "SCHNEE"),
    ("nebelfelder", "NEBEL"),
    ("wolken", "WOLKE"),
    ("sturmböen", "STURM"),
    ("windböen", "BOEE"),
    ("hagelschauer", "HAGEL"),
    ("schneeschauer", "SCHNEE SCHAUER"),
    ("aufheiterungen", "AUFHEITERUNG"),
    ("quellwolken", "QUELLWOLKE"),
    ("unwetter", "UNWETTER"),
    ("überschwemmungen", "UEBERSCHWEMMUNG"),
]
# inflected attributive adjectives before a plural noun (text, gloss)
INTENSITIES = [
    ("kräftige", "STARK"),
    ("heftige", "HEFTIG"),
    ("leichte", "LEICHT"),
    ("einzelne", "EINZELN"),
    ("vereinzelte", "VEREINZELT"),
    ("örtliche", "ORT"),
    ("teils kräftige", "TEILWEISE STARK"),
    ("dichte", "DICHT"),
    ("zahlreiche", "VIEL"),
    ("schwere", "SCHWER"),
    ("länger anhaltende", "LANG"),
]
# singular phenomena for "kann es ... geben" (noun, gloss)
RISKS = [
    ("nebel", "NEBEL"),
    ("frost", "FROST"),
    ("glätte", "GLATT"),
    ("bodenfrost", "BODEN FROST"),
    ("hochnebel", "HOCH NEBEL"),
    ("sprühregen", "NIESEL"),
    ("glatteis", "GLATTEIS"),
    ("raureif", "RAUREIF"),
    ("tau", "TAU"),
]
AIR_ADJ = [
    ("warme", "WARM"),
    ("kalte", "KALT"),
    ("feuchte", "FEUCHT"),
    ("trockene", "TROCKEN"),
    ("milde", "MILD"),
    ("kühle", "KUEHL"),
    ("polare", "POLAR"),
    ("subtropische", "SUBTROPISCH"),
]
DIRECTIONS = [
    ("norden", "NORD"),
    ("süden", "SUED"),
    ("osten", "OST"),
    ("westen", "WEST"),
    ("nordwest", "NORDWEST"),
    ("nordost", "NORDOST"),
    ("südwest", "SUEDWEST"),
    ("südost", "SUEDOST"),
]
WIND_STRENGTH = [
    ("schwach", "SCHWACH"),
    ("mäßig", "MAESSIG"),
    ("frisch", "FRISCH"),
    ("stark", "STARK"),
    ("stürmisch", "STURM"),
    ("böig", "BOEE"),
]
FREQUENCY = [
    ("oft", "OFT"),
    ("zeitweise", "ZEITWEISE"),
    ("länger", "LANG"),
    ("kaum", "KAUM"),
    ("nur selten", "SELTEN"),
    ("meistens", "MEISTENS"),
    ("ab und zu", "AB-UND-ZU"),
]
PART_OF_DAY = [
    ("abend", "ABEND"),
    ("tag", "TAG"),
    ("sonntag", "SONNTAG"),
    ("samstag", "SAMSTAG"),
    ("wochenende", "WOCHENENDE"),
    ("feierabend", "FEIERABEND"),
]
CLOUD_CHANGES = [("ziehen", "KOMMEN"), ("verschwinden", "VERSCHWINDEN"), ("lockern", "LOCKER")]
