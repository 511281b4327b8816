"""Fold a place name to a search key that ignores case, accents, script and transliteration.

Суджа, Sudzha, Sudža and SUDZHA all fold to ``sudza``; Демидовка, Demidovka and Demydivka fold
to keys one letter apart, which trigram similarity then matches.
"""

import re
import unicodedata

# Cyrillic (Russian and Ukrainian) to the folded Latin alphabet below: one symbol per sound
# family, so each language's usual romanisation lands on the same key.
_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "е": "e", "є": "ie",
    "ж": "z", "з": "z", "и": "i", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l",
    "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
    "ф": "f", "х": "x", "ц": "c", "ч": "c", "ш": "s", "щ": "s", "ъ": "", "ы": "i",
    "ь": "", "э": "e", "ю": "iu", "я": "ia",
}  # fmt: skip

# Latin digraphs first (longest first), then single letters with the same sound families.
_LATIN_DIGRAPHS = (
    ("shch", "s"), ("sch", "s"), ("zh", "z"), ("kh", "x"), ("ch", "c"), ("sh", "s"),
    ("ts", "c"), ("tz", "c"), ("ye", "ie"), ("yu", "iu"), ("ya", "ia"), ("yi", "i"),
)  # fmt: skip
_LATIN_SINGLE = str.maketrans({"h": "g", "y": "i", "j": "i", "w": "v", "q": "k"})
_APOSTROPHES = re.compile(r"['’ʼ`´ʹ]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_REPEATS = re.compile(r"(.)\1+")


def _strip_marks(text: str) -> str:
    """Drop accents (ž→z, ё→е, й→и) while keeping base letters in both scripts."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def fold_name(name: str) -> str:
    """The search key of a name: lower-case Latin letters and digits, single-spaced."""
    text = _APOSTROPHES.sub("", _strip_marks(name.casefold()))
    for soft_e in ("ье", "ъе"):  # Прилесье is romanised Prilesye: the sign voices the vowel
        text = text.replace(soft_e, "ie")
    text = "".join(_CYRILLIC.get(ch, ch) for ch in text)
    for digraph, folded in _LATIN_DIGRAPHS:
        text = text.replace(digraph, folded)
    text = text.translate(_LATIN_SINGLE)
    text = _REPEATS.sub(r"\1", text)
    return _NON_ALNUM.sub(" ", text).strip()
