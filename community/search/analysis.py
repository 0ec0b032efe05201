"""Text analysis for search: one analyzer that handles English and Arabic in the same field.

Tokens are Unicode words, lower-cased. Arabic tokens are normalised the way Arabic readers
expect a search to forgive: diacritics (tashkeel) and tatweel removed, alef variants (أ إ آ ٱ)
folded to ا, alef maqsura ى to ي, taa marbuta ة to ه, hamza seats ؤ ئ to و ي, and the
definite article ال (with the prefixes و ب ك ف ل before it) stripped. Latin tokens lose English
stop words and are stemmed (Porter), so "roaming" finds "roam". Other scripts pass through as
words. Posts that mix languages therefore work: each token is treated by its own script.
"""

from __future__ import annotations

import re

from whoosh.analysis import STOP_WORDS, Filter, LowercaseFilter, RegexTokenizer, StopFilter
from whoosh.lang.porter import stem

_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و",
                       "ئ": "ي", "ی": "ي", "ک": "ك"})
_ARTICLE = re.compile("^(?:[وبكفل]?ال|لل)(?=...)")
_ARABIC = re.compile("[\u0600-\u06ff]")
# A word: letters and digits, with the combining marks Arabic (and accented Latin) write inside
# words, and an inner apostrophe or dot (isn't, internet.kestrel).
_WORD = r"(?:[^\W_]|[\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640])+"
TOKEN = rf"{_WORD}(?:[.'’]{_WORD})*"
ARABIC_STOP_WORDS = frozenset(
    "في من على الى إلى عن مع هذا هذه ذلك التي الذي هو هي انا أنا لا ما لم لن قد ثم او أو و يا كل بعد قبل".split())


def normalize_arabic(word: str) -> str:
    word = _DIACRITICS.sub("", word).translate(_FOLD)
    # Twice, so "الإلكترونية" (the article on a word that itself starts with ال) meets "إلكترونية".
    return _ARTICLE.sub("", _ARTICLE.sub("", word))


class ScriptFilter(Filter):
    """Arabic normalisation for Arabic tokens, Porter stemming for Latin ones."""

    def __call__(self, tokens):
        for token in tokens:
            text = token.text
            if _ARABIC.search(text):
                token.text = normalize_arabic(text)
            elif text.isascii():
                token.text = stem(text)
            if token.text:
                yield token


def analyzer():
    """The analyzer for every text field (titles, bodies, answers)."""
    stop = STOP_WORDS | ARABIC_STOP_WORDS
    return (RegexTokenizer(TOKEN) | LowercaseFilter() | StopFilter(stoplist=stop, minsize=1)
            | ScriptFilter())


def spelling_analyzer():
    """Words as written (lower-cased, Arabic normalised, not stemmed): the vocabulary that
    "did you mean" suggestions are drawn from, so they read as real words."""
    return RegexTokenizer(TOKEN) | LowercaseFilter() | ArabicOnlyFilter()


class ArabicOnlyFilter(Filter):
    def __call__(self, tokens):
        for token in tokens:
            if _ARABIC.search(token.text):
                token.text = normalize_arabic(token.text)
            yield token
