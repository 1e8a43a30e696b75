"""The user's words retold by the companion: what they *stated* in a session (never their
questions, never the companion's replies), as clauses in the third person, ready to be
put into a journal entry or a session summary.

This is deterministic on purpose: on the embedded Gemma 3 270M base model, entries the
model wrote were invented and stopped mid-sentence. Sentences are split, questions,
requests and words to the companion are dropped, long sentences are cut only at clause
boundaries (a clause too long to keep is left out, never cut), and first-person words
become third-person ones ("I'm" → "they're", "my sister" → "their sister"). The user is
"they": the companion does not know the user's pronouns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache

from os1.domain import Role, Turn
from os1.memory.extraction import RELATIONS, importance
from os1.mind.templates import one_line, word_list

PACKAGE = "os1.skills.reflection"
MAX_CLAUSE_WORDS = 24
MIN_CLAUSE_WORDS = 3
WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_TERMINAL = re.compile(r"[.!?][\"')\]]*$")
_ABBREVIATIONS = frozenset("mr mrs ms dr st prof jr sr vs mt".split())
_SPLIT = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+")
# Words that may stand between "I" and its verb: "I really was", "I just am".
_ADVERBS = r"(?:really|just|also|still|actually|honestly|truly|never|always|finally|only|even)"
_AUXILIARIES = frozenset(
    "am is are was were do does did have has had can could will would should shall may "
    "might must don't doesn't didn't can't won't isn't aren't wasn't weren't".split()
)
# After an auxiliary at the start, these make a sentence a question ("did I", "is it").
_SUBJECTS = frozenset("i you we they he she it there this that my your the a an".split())
_SECOND_PERSON = frozenset(
    "you your yours yourself you're you've you'll you'd ya u ur thanks thank".split()
)
_LEADING = re.compile(
    r"^(?:(?:and|but|so|then|also|anyway|um+|uh+|er|hmm+|well|oh|actually|honestly)"
    r"\b,?\s+|(?:yes|yeah|yep|no|nope|ok|okay|right|sure|hey|hi|hello|wow|like|sorry)\b[,!.]\s*)+",
    re.IGNORECASE,
)
_FILLERS = re.compile(
    r",?\s*\b(?:um+|uh+|er|you know|ha(?:ha)+|he(?:he)+|lol|lmao)\b,?", re.IGNORECASE
)
# Where a long sentence may be cut: between clauses joined by "and", "but" or "so" (the
# part after must have a subject of its own), and before a subordinate clause, which is
# left out ("…my knee needs surgery, which scares me because…").
_BOUNDARY = re.compile(
    r",\s+(?:and|but|so)\s+|;\s+|\s+[-–—]{1,2}\s+|,\s+(?=(?:I|we|my)\b)|"
    rf"\s+(?:and|but|so)\s+(?=(?:{_ADVERBS}\s+|then\s+|now\s+)?"
    r"(?:I|I'm|I've|I'd|I'll|we|we're|my|our)\b)"
)
_SUBORDINATE = re.compile(
    r",?\s+(?:which|because|although|though|since|while|whereas|unless|so that)\s+"
)
_CLAUSE_SUBJECT = re.compile(
    rf"^(?i:(?:{_ADVERBS}\s+|then\s+|now\s+)?)"
    r"(?:(?i:I|I'm|I've|I'd|I'll|we|we're|my|our|he|she|they|it|it's|there|this|that|the|a|an|"
    r"his|her|their)|[A-Z][a-z]+)\b"
)

# First person to third ("they"): "I am" and "I was" first, as whole phrases.
_PHRASES = (
    (re.compile(rf"\bI((?:\s+{_ADVERBS})*)\s+am\b", re.I), r"they\1 are"),
    (re.compile(rf"\bI((?:\s+{_ADVERBS})*)\s+was\b", re.I), r"they\1 were"),
    (re.compile(r"\bI\s+wasn't\b", re.I), "they weren't"),
    (re.compile(r"\bI\s+ain't\b", re.I), "they aren't"),
    # "Amy and I went" → "they and Amy went": "Amy and they" would read oddly.
    (re.compile(r"\b((?:[Mm]y|[Oo]ur)\s+[a-z]+|[A-Z][a-z]+)\s+and\s+[Ii]\b"), r"I and \1"),
    (re.compile(r"^[Mm]e\s+and\s+"), "I and "),  # "me and my dad went"
    # Fillers of the user's own: "I guess I just miss…" → "they just miss…".
    (re.compile(r"\b[Ii] (?:guess|mean|suppose),?\s+(?=[Ii]\b|[Ii]'|my\b|we\b|it\b)"), ""),
)
_WORDS = {
    "i": "they",
    "i'm": "they're",
    "im": "they're",
    "i've": "they've",
    "i'll": "they'll",
    "i'd": "they'd",
    "me": "them",
    "my": "their",
    "mine": "theirs",
    "myself": "themself",
    "we": "they",
    "we're": "they're",
    "we've": "they've",
    "we'll": "they'll",
    "we'd": "they'd",
    "our": "their",
    "ours": "theirs",
    "ourselves": "themselves",
}
_PERSON = re.compile(
    r"\b(?:" + "|".join(sorted(map(re.escape, _WORDS), key=len, reverse=True)) + r"|us)\b",
    re.IGNORECASE,
)
THIRD_PERSON = frozenset(_WORDS.values()) | {"them"}


@dataclass(frozen=True)
class Statement:
    """One clause the user stated, retold: ``text`` has no final punctuation and starts
    as it would inside a sentence ("their brother Tomas called this morning")."""

    turn_id: int
    text: str
    score: float
    said: str  # the clause in the user's own words


def normalise(text: str) -> str:
    return one_line(text.replace("\u2019", "'").replace("\u2018", "'"))


def sentences(text: str) -> list[str]:
    """Split after . ! ? (not after "Dr." and the like), and at line breaks."""
    found: list[str] = []
    for line in text.splitlines():
        parts: list[str] = []
        for piece in _SPLIT.split(normalise(line)):
            last = WORD.findall(parts[-1])[-1:] if parts else []
            if last and last[0].lower() in _ABBREVIATIONS and parts[-1].endswith("."):
                parts[-1] += " " + piece
            elif piece.strip():
                parts.append(piece.strip())
        found.extend(parts)
    return found


def complete_sentences(text: str, limit: int = 4) -> str:
    """What a model wrote, kept up to its last complete sentence: a sentence that ends in
    . ! or ?, has a few words and no unclosed quote. The rest is dropped, never shown."""
    kept: list[str] = []
    text = text.strip()
    if len(text) > 1 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1]  # the whole reply in quotes
    for sentence in sentences(text):
        if not _TERMINAL.search(sentence) or sentence.count('"') % 2:
            break
        if len(WORD.findall(sentence)) < MIN_CLAUSE_WORDS or not sentence[0].isupper():
            break
        kept.append(sentence)
        if len(kept) == limit:
            break
    return " ".join(kept)


def is_question(sentence: str) -> bool:
    if sentence.rstrip(" \"')").endswith("?"):
        return True
    words = [w.lower() for w in WORD.findall(_LEADING.sub("", sentence))[:2]]
    if not words:
        return False
    if words[0] in word_list("question_words", PACKAGE):
        return True
    return words[0] in _AUXILIARIES and len(words) > 1 and words[1] in _SUBJECTS


def statement_sentences(turns: Iterable[Turn]) -> Iterator[tuple[Turn, str]]:
    """Each sentence the user stated (questions left out), with its turn."""
    for turn in turns:
        if turn.role is Role.USER:
            for sentence in sentences(turn.text):
                if not is_question(sentence):
                    yield turn, sentence


def third_person(clause: str) -> str:
    """The user's clause with the user as "they" (and "we" as "they")."""
    for pattern, replacement in _PHRASES:
        clause = pattern.sub(replacement, clause)

    def swap(match: re.Match[str]) -> str:
        word = match.group(0)
        if word.lower() == "us":
            return "them" if word != "US" else word  # "US" is a country
        return _WORDS[word.lower()]

    return _PERSON.sub(swap, clause)


def _clean(sentence: str, names: Sequence[str]) -> str:
    """The sentence without lead-ins, fillers, a vocative name or final punctuation."""
    text = sentence
    for name in names:
        escaped = re.escape(name)
        text = re.sub(
            rf"^(?:(?:hey|hi|hello|oh|well|so)\s+)?{escaped}\s*[,!.:]\s*", "", text, flags=re.I
        )
        text = re.sub(rf",\s*{escaped}\s*(?=[.!?]*$)", "", text, flags=re.I)
    for _ in range(3):
        text = _LEADING.sub("", _FILLERS.sub("", text)).strip()
    return text.rstrip(" .!?,;:…").strip()


def _clauses(text: str) -> list[str]:
    """A long sentence as its main clauses, each with a subject of its own and at most
    ``MAX_CLAUSE_WORDS`` words (a longer one is left out, never cut); a short one whole."""
    if len(text.split()) <= MAX_CLAUSE_WORDS:
        return [text]
    parts: list[str] = []
    start = 0
    for cut in _BOUNDARY.finditer(text):
        if _CLAUSE_SUBJECT.match(text[cut.end() :]) and text[start : cut.start()].strip():
            parts.append(text[start : cut.start()])
            start = cut.end()
    parts.append(text[start:])
    clauses = []
    for part in parts:
        if len(part.split()) > MAX_CLAUSE_WORDS:
            part = _SUBORDINATE.split(part, maxsplit=1)[0]
        if len(part.split()) <= MAX_CLAUSE_WORDS:
            clauses.append(_LEADING.sub("", part.strip(" ,;")))
    return clauses


def _usable(clause: str, names: Sequence[str]) -> bool:
    words = [w.lower() for w in WORD.findall(clause)]
    if len(words) < MIN_CLAUSE_WORDS or clause.count('"') % 2:
        return False
    if set(words) & _SECOND_PERSON or words[0] in word_list("requests", PACKAGE):
        return False  # said to the companion, or asking it for something
    if mentions(clause, names):
        return False  # about the companion, or the user introducing themself
    stop = word_list("stopwords", PACKAGE)
    return sum(1 for w in words if w not in stop and len(w) > 2) >= 1


def mentions(text: str, names: Sequence[str]) -> bool:
    """Whether the text names one of these people: capitalised, or in a text written all
    in lowercase (a speech transcript). "will" is not the name Will."""
    parts = {part for name in names for part in name.split()}
    words = set(WORD.findall(text))
    if text.islower():
        return bool({w.lower() for w in words} & {p.lower() for p in parts})
    return bool(words & parts)


def _score(clause: str, has_fact: bool, about: frozenset[str]) -> float:
    words = WORD.findall(clause)
    lowered = {w.lower() for w in words}
    score = importance(clause)
    score += 0.25 * bool(lowered & about)  # what the session kept coming back to
    score += 0.2 * any(w[0].isupper() and w != "I" and not w.startswith("I'") for w in words[1:])
    score += 0.2 * bool(lowered & set(RELATIONS))
    score += 0.2 * bool(lowered & word_list("feelings", PACKAGE))
    score += 0.1 * bool(lowered & {"i", "i'm", "i've", "i'd", "i'll", "my", "we", "our"})
    score += 0.2 * has_fact
    if words and words[0].lower() in {"it", "that", "this", "these", "those"}:
        score -= 0.3  # what "it" is was said before; alone it tells little
    return round(score, 3)


def _first_word_case(text: str, seen: Seen) -> str:
    """Inside a sentence, a first word keeps its capital unless it is a common word: one
    of the word lists here, or one the session wrote in lowercase and never capitalised
    mid-sentence. A name lowercased would read worse than a noun left capitalised."""
    first = WORD.match(text)
    if first is None or first.group(0).islower():
        return text
    word = first.group(0)
    low = word.lower()
    lower = low + text[len(word) :]
    if low in THIRD_PERSON or low in _common_words():
        return lower
    if word not in seen.capitalised and word[1:].islower() and low in seen.lowercase:
        return lower
    return text


@cache
def _common_words() -> frozenset[str]:
    lists = ("stopwords", "feelings", "journal_words", "requests", "question_words")
    return frozenset(RELATIONS).union(*(word_list(name, PACKAGE) for name in lists))


@dataclass(frozen=True)
class Seen:
    """How words were written in a session: lowercase anywhere, or capitalised after a
    sentence's first word (so a name)."""

    lowercase: frozenset[str]
    capitalised: frozenset[str]

    @classmethod
    def of(cls, turns: Sequence[Turn]) -> Seen:
        lowercase: set[str] = set()
        capitalised: set[str] = set()
        for turn in turns:
            for sentence in sentences(turn.text):
                words = WORD.findall(sentence)
                lowercase.update(w for w in words if w.islower())
                capitalised.update(w for w in words[1:] if w[0].isupper() and w[1:].islower())
        return cls(frozenset(lowercase), frozenset(capitalised))


def statements(
    turns: Sequence[Turn],
    companion: str,
    user: str = "",
    fact_turns: Iterable[int] = (),
    about: Iterable[str] = (),
) -> list[Statement]:
    """Every clause the user stated in these turns, retold, in the order said; a clause
    scores higher for a fact drawn from its turn, or for naming a topic in ``about``."""
    names = [n for n in (companion, user) if n]
    with_facts = set(fact_turns)
    topics = frozenset(a.lower() for a in about)
    seen = Seen.of(turns)
    found: list[Statement] = []
    for turn, sentence in statement_sentences(turns):
        for clause in _clauses(_clean(sentence, names)):
            if not _usable(clause, names):
                continue
            told = _first_word_case(third_person(clause), seen)
            score = _score(clause, turn.id in with_facts, topics)
            found.append(Statement(turn.id, told, score, clause))
    return found


def salient(found: Sequence[Statement], n: int, max_chars: int = 10_000) -> list[Statement]:
    """The ``n`` most telling statements (no repeats), in the order they were said,
    together at most ``max_chars`` long. One per turn first, so that what the entry
    tells spans the session; then the next best of any turn."""
    ranked = sorted(range(len(found)), key=lambda i: (-found[i].score, i))
    picked: list[int] = []
    seen: set[str] = set()
    turns: set[int] = set()
    total = 0
    for spread in (True, False):
        for i in ranked:
            key = found[i].text.lower()
            if len(picked) == n or key in seen or total + len(key) > max_chars:
                continue
            if spread and found[i].turn_id in turns:
                continue
            seen.add(key)
            turns.add(found[i].turn_id)
            picked.append(i)
            total += len(key)
    return [found[i] for i in sorted(picked)]


def and_that(clauses: Sequence[str]) -> str:
    """ "A", "A, and that B", "A, that B, and that C": reported speech, one sentence."""
    if len(clauses) <= 1:
        return "".join(clauses)
    head = ", that ".join(clauses[:-1])
    return f"{head}, and that {clauses[-1]}"
