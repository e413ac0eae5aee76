"""Tokens of tool descriptions and queries, shared by BM25 ranking and query coverage.

Words are lower-cased ASCII alphanumerics that start with a letter (pure numbers are the
values of one problem, not the words of a capability: "convert 25 C" and "convert 300 C"
ask for the same tool). snake_case splits into words. A small stop list and a conservative
plural strip make "converts temperatures" meet "convert temperature".

Word pairs are added within a phrase (punctuation ends a phrase), keeping direction words
(to, from, into, per), so that word order counts: "celsius to kelvin" and "kelvin to
celsius" share every word but no pair.
"""

from __future__ import annotations

import re
from itertools import pairwise

_PHRASE = re.compile(r"[^a-z0-9_\s]+")
_WORD = re.compile(r"[a-z][a-z0-9]*|[0-9]+[a-z][a-z0-9]*")

STOPWORDS = frozenset((
    "a", "an", "the", "of", "to", "in", "into", "for", "from", "and", "or", "by", "with", "on",
    "at", "as", "is", "are", "be", "been", "it", "its", "this", "that", "these", "those",
    "which", "what", "how", "per", "given", "using", "use", "uses", "value", "values", "result",
    "results", "return", "returns", "compute", "computes", "calculate", "calculates", "get",
    "gets", "find", "finds", "number", "numbers", "than", "then", "so", "such", "can", "may",
    "must", "should", "will", "each", "any", "all", "one", "two", "both",
))

# Direction words: dropped as words, kept in word pairs, so that "from Celsius to kelvin"
# and "from kelvin to Celsius" differ in their pairs (the words are the same).
LINKS = frozenset(("to", "from", "per"))  # "into" reads as "to"

# Endings where a trailing "s" is part of the word, not a plural.
_KEEP_S = ("ss", "us", "is", "os", "as", "ys")


def normalize(word: str) -> str:
    if word == "into":
        return "to"
    if len(word) > 3 and word.endswith("s") and not word.endswith(_KEEP_S):
        if word.endswith("ies") and len(word) > 4:
            return word[:-3] + "y"
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """The content words of `text`, in order, without phrase boundaries."""
    out: list[str] = []
    for phrase in phrases(text):
        out.extend(phrase)
    return out


def phrases(text: str) -> list[list[str]]:
    lowered = text.lower().replace("_", " ")
    result = []
    for chunk in _PHRASE.split(lowered):
        found = [normalize(w) for w in _WORD.findall(chunk)]
        found = [w for w in found if w not in STOPWORDS]
        if found:
            result.append(found)
    return result


def tokens(text: str) -> list[str]:
    """Unigrams, then the word pairs of each phrase ("celsius to", "to kelvin")."""
    unigrams: list[str] = []
    bigrams: list[str] = []
    for chunk in _PHRASE.split(text.lower().replace("_", " ")):
        raw = [normalize(w) for w in _WORD.findall(chunk)]
        unigrams.extend(w for w in raw if w not in STOPWORDS)
        linked = [w for w in raw if w not in STOPWORDS or w in LINKS]
        bigrams.extend(f"{a} {b}" for a, b in pairwise(linked)
                       if not (a in LINKS and b in LINKS))
    return unigrams + bigrams


def is_bigram(token: str) -> bool:
    return " " in token


def jaccard(a: str, b: str) -> float:
    """Word-set overlap of two texts: the text similarity when no dense model loads."""
    sa, sb = set(words(a)), set(words(b))
    if not sa and not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)
