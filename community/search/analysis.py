"""Text analysis for search: one analyzer that handles English and Arabic in the same field.

Tokens are Unicode words, lower-cased. Arabic tokens are normalised the way Arabic readers
expect a search to forgive: diacritics (tashkeel) and tatweel removed, alef variants (أ إ آ ٱ)
folded to ا, alef maqsura ى to ي, taa marbuta ة to ه, hamza seats ؤ ئ to و ي, and the
definite article ال (with the prefixes و ب ك ف ل before it) stripped. Latin tokens lose English
stop words and are stemmed (Porter), so "roaming" finds "roam". Other scripts pass through as
words. Posts that mix languages therefore work: each token is treated by its own script.
"""

from __future__ import annotations

import functools
import re

from whoosh.analysis import STOP_WORDS as ENGLISH_STOP_WORDS
from whoosh.analysis import (CommaSeparatedTokenizer, Filter, LowercaseFilter, RegexTokenizer,
                             StopFilter)
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
STOP_WORDS = ENGLISH_STOP_WORDS | ARABIC_STOP_WORDS


def normalize_arabic(word: str) -> str:
    word = _DIACRITICS.sub("", word).translate(_FOLD)
    # Twice, so "الإلكترونية" (the article on a word that itself starts with ال) meets "إلكترونية".
    return _ARTICLE.sub("", _ARTICLE.sub("", word))


@functools.lru_cache(maxsize=100_000)
def by_script(word: str) -> str:
    """A lower-cased word as indexed: Arabic normalised, Latin stemmed, others unchanged."""
    # Cached: a forum's words repeat, and stemming was a fifth of the time to index a post.
    if _ARABIC.search(word):
        return normalize_arabic(word)
    if word.isascii():
        return stem(word)
    return word


class ScriptFilter(Filter):
    """Arabic normalisation for Arabic tokens, Porter stemming for Latin ones."""

    def __call__(self, tokens):
        for token in tokens:
            token.text = by_script(token.text)
            if token.text:
                yield token


def analyzer():
    """The analyzer for every text field (titles, bodies, answers)."""
    return (RegexTokenizer(TOKEN) | LowercaseFilter()
            | StopFilter(stoplist=STOP_WORDS, minsize=1) | ScriptFilter())


# What a tag looks like (services/threads.py TAG_RE; adapters do not import services).
_TAG = re.compile(r"[^\W_][\w+#.-]{0,34}")


class QueryTagFilter(Filter):
    """In a typed query (tokens whose mode is "query"), keeps only words that could be tags and
    are not stop words; indexing keeps every tag."""

    def __init__(self, stoplist) -> None:
        self.stops = frozenset(stoplist)

    def __call__(self, tokens):
        for token in tokens:
            if token.mode != "query" or (token.text not in self.stops
                                         and _TAG.fullmatch(token.text)):
                yield token


def tags_analyzer():
    """Tags are indexed whole, lower-cased, so any tag can be filtered on (even "us" or "on").

    Each word typed in a query is looked up in the tags as well as in the text, and every word
    must match somewhere. The text fields drop stop words and punctuation; so must this one, or
    "turn on roaming" would need a tag "on", and "can't connect - error" a tag "-".
    """
    return CommaSeparatedTokenizer() | LowercaseFilter() | QueryTagFilter(STOP_WORDS)


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
