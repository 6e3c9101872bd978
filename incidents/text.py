"""The one text vocabulary: how incident text is cut into words, and which words say nothing.

Duplicate detection, similar incidents and search all read text through these functions, so
"the same words" means the same thing everywhere.
"""

import re

# Letters and digits in any script; underscores and punctuation separate words.
WORD = re.compile(r"[^\W_]+")
STOPWORDS = frozenset(
    {
        "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in",
        "into", "is", "it", "its", "of", "on", "or", "over", "the", "to", "was", "were", "with",
        "after", "ai", "against", "about",
    }
)  # fmt: skip
MIN_WORD_LENGTH = 3


def tokens(text):
    """Every word of the text, lower-cased, in order."""
    return WORD.findall((text or "").lower())


def words(text):
    """The distinct meaningful words: no stopwords, nothing shorter than three letters."""
    return {word for word in tokens(text) if _meaningful(word)}


def terms(text):
    """The meaningful words in order, with a plural "s" dropped so "cars" meets "car"."""
    # `_meaningful` written out, and the plural test with it: this runs for every candidate
    # of every similar-incidents list, where the calls cost more than the tests.
    return [
        word[:-1] if len(word) > 4 and word[-1] == "s" and word[-2] != "s" else word
        for word in WORD.findall((text or "").lower())
        if len(word) >= MIN_WORD_LENGTH and word not in STOPWORDS
    ]


def _meaningful(word):
    return len(word) >= MIN_WORD_LENGTH and word not in STOPWORDS
