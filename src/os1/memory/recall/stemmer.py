"""The Porter stemmer exactly as SQLite's FTS5 ``porter`` tokenizer applies it.

Porter's 1980 algorithm with the small changes SQLite made (step 2 also folds "logi" to
"log" and "bli" to "ble"; a suffix is only removed when something is left before it).
FTS5 stems the UTF-8 bytes of each token that is 3 to 64 bytes long and passes every other
token through unchanged; bytes outside ASCII count as consonants. This module follows it
rule for rule, so that words stemmed here meet the words SQLite stemmed
(``tests/test_lexical.py`` checks it against SQLite itself).
"""

from __future__ import annotations

from functools import lru_cache

MAX_TOKEN_BYTES = 64
_VOWELS = frozenset("aeiou")


def _is_vowel(c: str, y_is_vowel: bool) -> bool:
    return c in _VOWELS or (y_is_vowel and c == "y")


def _gobble_vc(w: str, start: int, end: int, prev_consonant: bool) -> int:
    """Past one vowel run and the consonant after it in ``w[start:end]``: the index just
    after that consonant, or 0 if there is none (FTS5's fts5PorterGobbleVC)."""
    consonant = prev_consonant
    i = start
    while i < end:
        consonant = not _is_vowel(w[i], consonant)
        if not consonant:
            break
        i += 1
    i += 1
    while i < end:
        consonant = not _is_vowel(w[i], consonant)
        if consonant:
            return i + 1
        i += 1
    return 0


def _m_gt0(w: str, n: int) -> bool:
    return _gobble_vc(w, 0, n, False) != 0


def _m_gt1(w: str, n: int) -> bool:
    k = _gobble_vc(w, 0, n, False)
    return k != 0 and _gobble_vc(w, k, n, True) != 0


def _m_eq1(w: str, n: int) -> bool:
    k = _gobble_vc(w, 0, n, False)
    return k != 0 and _gobble_vc(w, k, n, True) == 0


def _o_star(w: str, n: int) -> bool:
    """The stem ends consonant-vowel-consonant, the last not w, x or y."""
    if w[n - 1] in "wxy":
        return False
    mask = 0
    consonant = False
    for i in range(n):
        consonant = not _is_vowel(w[i], consonant)
        mask = (mask << 1) + consonant
    return (mask & 7) == 5


def _has_vowel(w: str, n: int) -> bool:
    return any(_is_vowel(w[i], i > 0) for i in range(n))


def _m_gt1_s_or_t(w: str, n: int) -> bool:
    return w[n - 1] in "st" and _m_gt1(w, n)


# (suffix, replacement) in the order FTS5 tries them; the first suffix that matches is
# the only one considered, whether or not its condition then holds.
_STEP2 = (
    ("ational", "ate"),
    ("tional", "tion"),
    ("enci", "ence"),
    ("anci", "ance"),
    ("izer", "ize"),
    ("logi", "log"),
    ("bli", "ble"),
    ("alli", "al"),
    ("entli", "ent"),
    ("eli", "e"),
    ("ousli", "ous"),
    ("ization", "ize"),
    ("ation", "ate"),
    ("ator", "ate"),
    ("alism", "al"),
    ("iveness", "ive"),
    ("fulness", "ful"),
    ("ousness", "ous"),
    ("aliti", "al"),
    ("iviti", "ive"),
    ("biliti", "ble"),
)
_STEP3 = (
    ("ical", "ic"),
    ("ness", ""),
    ("icate", "ic"),
    ("iciti", "ic"),
    ("ful", ""),
    ("ative", ""),
    ("alize", "al"),
)
_STEP4 = (
    "al",
    "ance",
    "ence",
    "er",
    "ic",
    "able",
    "ible",
    "ant",
    "ement",
    "ment",
    "ent",
    "ion",
    "ou",
    "ism",
    "ate",
    "iti",
    "ous",
    "ive",
    "ize",
)


def _by_second_last(
    rules: tuple[tuple[str, str], ...],
) -> dict[str, tuple[tuple[str, str], ...]]:
    """FTS5 switches on the second-last letter and tries that letter's rules in order."""
    table: dict[str, list[tuple[str, str]]] = {}
    for suffix, out in rules:
        table.setdefault(suffix[-2], []).append((suffix, out))
    return {k: tuple(v) for k, v in table.items()}


_STEP2_BY = _by_second_last(_STEP2)
_STEP3_BY = _by_second_last(_STEP3)
_STEP4_BY = _by_second_last(tuple((s, "") for s in _STEP4))


def _replace(w: str, rules: dict[str, tuple[tuple[str, str], ...]], step4: bool) -> str:
    n = len(w)
    for suffix, out in rules.get(w[n - 2], ()) if n >= 2 else ():
        size = len(suffix)
        if n > size and w.endswith(suffix):
            if step4:
                ok = _m_gt1_s_or_t(w, n - size) if suffix == "ion" else _m_gt1(w, n - size)
            else:
                ok = _m_gt0(w, n - size)
            return w[: n - size] + out if ok else w
    return w


def _step1a(w: str) -> str:
    n = len(w)
    if w[n - 1] == "s":
        if w[n - 2] == "e":
            if (n > 4 and w[n - 4] == "s" and w[n - 3] == "s") or (n > 3 and w[n - 3] == "i"):
                return w[: n - 2]
            return w[: n - 1]
        if w[n - 2] != "s":
            return w[: n - 1]
    return w


def _step1b(w: str) -> tuple[str, bool]:
    n = len(w)
    second_last = w[n - 2] if n >= 2 else ""
    if second_last == "e":
        if n > 3 and w.endswith("eed"):
            return (w[:-1], False) if _m_gt0(w, n - 3) else (w, False)
        if n > 2 and w.endswith("ed"):
            return (w[:-2], True) if _has_vowel(w, n - 2) else (w, False)
    elif second_last == "n" and n > 3 and w.endswith("ing"):
        return (w[:-3], True) if _has_vowel(w, n - 3) else (w, False)
    return w, False


def _step1b2(w: str) -> tuple[str, bool]:
    n = len(w)
    if n > 2:
        for suffix in ("at", "bl", "iz"):
            if w.endswith(suffix):
                return w + "e", True
    return w, False


def _stem_bytes(w: str) -> str:
    """Stem ``w``, one character per byte of the UTF-8 token (at least 3 of them)."""
    w = _step1a(w)
    w, removed = _step1b(w)
    if removed:
        w, replaced = _step1b2(w)
        if not replaced:
            c = w[-1]
            if not _is_vowel(c, False) and c not in "lsz" and len(w) >= 2 and c == w[-2]:
                w = w[:-1]
            elif _m_eq1(w, len(w)) and _o_star(w, len(w)):
                w += "e"
    # Step 1c.
    if w[-1] == "y" and _has_vowel(w, len(w) - 1):
        w = w[:-1] + "i"
    w = _replace(w, _STEP2_BY, step4=False)
    w = _replace(w, _STEP3_BY, step4=False)
    w = _replace(w, _STEP4_BY, step4=True)
    # Step 5a.
    n = len(w)
    if w[-1] == "e" and (_m_gt1(w, n - 1) or (_m_eq1(w, n - 1) and not _o_star(w, n - 1))):
        w = w[:-1]
    # Step 5b.
    n = len(w)
    if n > 1 and w[-1] == "l" and w[-2] == "l" and _m_gt1(w, n - 1):
        w = w[:-1]
    return w


@lru_cache(maxsize=200_000)
def stem(token: str) -> str:
    """The Porter stem of a lower-cased token, as FTS5's porter tokenizer makes it."""
    if token.isascii():
        if len(token) < 3 or len(token) > MAX_TOKEN_BYTES:
            return token
        return _stem_bytes(token)
    raw = token.encode("utf-8", "surrogatepass")
    if len(raw) < 3 or len(raw) > MAX_TOKEN_BYTES:
        return token
    # One character per byte: bytes above 0x7f are consonants here, as they are to FTS5.
    stemmed = _stem_bytes(raw.decode("latin-1"))
    return stemmed.encode("latin-1").decode("utf-8", "surrogateescape")
