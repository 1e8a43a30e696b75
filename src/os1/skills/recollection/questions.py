"""Telling a question about the user's own life ("who's Gareth again?", "what's my niece
called?", "where am I working these days?") from every other question ("what do you think
I should do?", "is that normal for a puppy?"), and reading what it asks for.

Only the words of the question are used, never the dataset they may come from: the rules
are about English question forms (a wh-word or "do you remember", a first-person word or a
name, and no sign of asking for an opinion or advice).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from os1.memory.recall.stemmer import stem

# The longest question this reads: a story with a question in it is conversation.
MAX_WORDS = 25
WH = ("who", "whom", "whose", "what", "whats", "which", "where", "wheres", "when", "how")
# Asking for an opinion, advice, or something general: the model's job, not memory's.
NOT_MEMORY = re.compile(
    r"\b(?:you think|do you reckon|should (?:i|we)|shall (?:i|we)|what if|tips?|advice|"
    r"any ideas?|suggest|recommend|is (?:it|that|this) (?:normal|weird|bad|ok|okay|"
    r"silly|crazy|foolish|too|wrong|strange|fine|good)|is that a|was that|are you|"
    r"have you ever|how (?:can|could|would|should|do|does) (?:you|one|i (?!take|like|"
    r"have|drink|eat))|how long (?:can|should|does|do)|can you|could you|would you|"
    r"will you|what would|why|what kind of (?:questions|stories)|what should i (?!order)|"
    r"reminders?|timers?|remind me (?:about|of)|asked? you to remind)\b",
    re.IGNORECASE,
)
FIRST_PERSON = frozenset("i i'm im i've ive i'd me my mine myself we we're our ours us".split())
REMEMBERING = re.compile(
    r"\b(?:again|remind me|do you (?:remember|recall|know)|did i (?:tell|mention)|"
    r"have i told you|tell me)\b",
    re.IGNORECASE,
)
SELF_NAME = re.compile(
    r"\b(?:your name|what (?:do|should|can) i call you|how are you called|who are you|"
    r"what are you called|what(?:'s| is) your name)\b",
    re.IGNORECASE,
)
USER_NAME = re.compile(
    r"\b(?:what(?:'s| is) my name|whats my name|(?:remember|know|recall) (?:what )?my name)\b"
    r"|^\W*who am i\W*$",
    re.IGNORECASE,
)
# Words that say what kind of answer is wanted.
WANTS_DATE = re.compile(
    r"^\W*when\b|\b(?:what date|which date|what day|which day|what month|which month|what year|"
    r"which year|what time|how long ago|since when)\b",
    re.IGNORECASE,
)
WANTS_NAME = re.compile(r"\b(?:name|named|naming|called|call|who|whom)\b", re.IGNORECASE)
# And which kind of place ("which city"): the place itself is the answer.
PLACE_WORDS = frozenset("city town country place village neighbourhood neighborhood area".split())
WANTS_PLACE = re.compile(
    r"\b(?:where|which (?:city|town|country|place|village|neighbourhood|neighborhood|"
    r"university|school|hospital|college|company))\b",
    re.IGNORECASE,
)
NOW = re.compile(
    r"\b(?:now|these days|nowadays|currently|at the moment|any ?more|still|lately|"
    r"right now)\b",
    re.IGNORECASE,
)
PAST = re.compile(r"\b(?:before|used to|former|old|late|previous|first|originally)\b", re.I)
# "My mother-in-law" is someone's mother; "my son in law" is someone's husband.
IN_LAW = re.compile(r"(?i)\b(mother|father|sister|brother|son|daughter)[- ]in[- ]laws?(?:'s|’s)?\b")
IN_LAW_IS = {
    "mother": "mother",
    "father": "father",
    "sister": "sister",
    "brother": "brother",
    "son": "husband",
    "daughter": "wife",
}
# Words a question uses to ask, which say nothing about what it is about.
ASKING = frozenset(
    "who whom whose what whats which where wheres when how do does did is are was were am "
    "be been i me my mine myself we our us you your again remind remember recall know tell "
    "told mention say said name named called call again please now these days nowadays "
    "currently moment still lately right any anymore ever exactly just end up ended a an "
    "the of to in on at for with from by that this it its there and or but so can could "
    "would will should shall thing things kind sort type one lol dear mate again oh okay ok "
    "well hey um uh really if about keep mind get got wait lol haha new take have put".split()
)


# Words that say which or what kind ("my favourite café", "my little brother"), stemmed.
MODIFIERS = frozenset(
    stem(w)
    for w in "favourite favorite little big older younger eldest oldest youngest new old "
    "late future ex current former best usual first second last".split()
)
# Words that ask what the user likes, stemmed.
LIKING = frozenset(
    stem(w) for w in "like likes love loves best favourite favorite enjoy enjoys prefer".split()
)
# Verbs a question puts after its subject ("where does my mum live?").
VERBS = frozenset(
    "live lives living work works working do does did go goes going like likes love loves "
    "call calls study studying learn learning play playing drive driving eat eats drink "
    "drinks teach teaches sing sings cook cooks support supports root listen listens make "
    "makes want wants need needs attend attends run runs use uses wear wears read reads "
    "watch watches born married".split()
)
CALENDAR = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march april "
    "may june july august september october november december christmas easter".split()
)


@dataclass(frozen=True)
class Asked:
    """What a memory question asks: its content words (stems), the names it mentions,
    and the kind of answer it wants."""

    text: str
    terms: tuple[str, ...]
    # Of the terms, those naming whom or what it is about ("my mum", "the cat", Gareth):
    # evidence must speak of them.
    subject: tuple[str, ...]
    # For a name question, the thing whose name is asked ("the surgeon", "my dog"): the
    # evidence must speak of it, or the name told would be someone else's.
    head: str
    # What the evidence must name, every one: the question's names, and the last word of
    # each "my …" ("my chess rating": rating, not only chess).
    required: tuple[str, ...]
    names: tuple[str, ...]
    wants: str  # "date", "name", "place" or "thing"
    now: bool  # "these days": the latest statement holds
    past: bool  # "before I retired": an earlier one may be meant
    # For "my mother-in-law", "mother": the relation is said of someone else ("Jonas's
    # mother, Birgitta"); for a son-in-law, "husband" ("Becky's husband").
    in_law: str = ""


def words(text: str) -> list[str]:
    """Lower-case words, with "what's" read as "what" and "I'm" as "i" "am"."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"\b(what|who|where|when|how|that|it|he|she|there)'s\b", r"\1 is", text)
    text = re.sub(r"\bi'm\b", "i am", text)
    text = re.sub(r"'s\b|s'(?=\s|$)", "", text)
    return re.findall(r"[^\W_]+(?:['-][^\W_]+)*", text)


def _subject(found: list[str]) -> tuple[str, ...]:
    """Only modifiers ("my favourite thing"): the question names no subject to hold to."""
    return tuple(found) if any(t not in MODIFIERS for t in found) else ()


def _named_thing(question: str) -> str:
    """The thing a name question asks the name of: "the surgeon" in "the name of the
    surgeon who…", "dog" in "my dog's name", "niece" in "what's my niece called?"."""
    lowered = question.lower().replace("’", "'")
    found = re.search(r"\bname of (?:the|my|our|his|her|their) ([\w-]+)", lowered) or re.search(
        r"([\w-]+?)(?:'s|s')? (?:name|called|named)\b", lowered
    )
    if not found or found.group(1) in ASKING:
        return ""
    return stem(found.group(1))


def last_question(text: str) -> str:
    """The sentence that asks: the last one with a question mark, else the whole text."""
    parts = [p.strip() for p in re.split(r"(?<=[.!?])\s+", text.strip()) if p.strip()]
    asking = [p for p in parts if p.endswith("?")]
    return asking[-1] if asking else (parts[-1] if parts else "")


def identity(text: str) -> str | None:
    """ "self" for "what's your name?", "user" for "do you know my name?", else None."""
    if len(words(text)) > MAX_WORDS:
        return None
    if USER_NAME.search(text):
        return "user"
    if SELF_NAME.search(text):
        return "self"
    return None


def memory_question(text: str) -> Asked | None:
    """The question, read, when ``text`` asks about the user's own life; else None."""
    if len(words(text)) > MAX_WORDS or identity(text):
        return None
    question = last_question(text)
    said = words(question)
    if not said or NOT_MEMORY.search(text):
        return None
    # It asks when it opens with a wh-word, or a clause of it does ("if you were planning
    # dinner, what should you keep in mind?"), or it asks to be reminded.
    clauses = [words(c) for c in re.split(r"[,;:]", question)]
    asks = question.endswith("?") or (said[0] in WH and not question.endswith("!"))
    asks = asks or bool(REMEMBERING.search(question) and any(w in WH for w in said[:3]))
    opens = any(c and c[0] in WH for c in clauses) or any(w in WH for w in said[:3])
    if not asks or not (opens or REMEMBERING.search(question)):
        return None
    names = tuple(
        n
        for n in re.findall(r"(?<!^)(?<![.!?] )\b([A-Z][^\W\d_]+(?:-[A-Z][^\W\d_]+)?)", question)
        if n.lower() not in ASKING and n.lower() not in CALENDAR and n != "I"
    )
    # About the user's world: it says "my" or "we", or names someone, or asks after a
    # thing of theirs without asking the companion anything ("what's the boat called?").
    own = FIRST_PERSON & set(said) or names
    general = {"you", "your", "yours", "u", "people", "anyone", "someone", "everyone", "one"}
    about_then = bool(NOW.search(question) or REMEMBERING.search(question))
    if not own and (general & set(said) or len(said) > 12 or not (about_then or "the" in said)):
        return None
    # "for a living" asks about work, not about where someone lives; "going out with" is
    # dating; "what day of the week" says only which kind of answer is wanted.
    plain = re.sub(r"\bfor a living\b", "for work", question, flags=re.IGNORECASE)
    plain = re.sub(r"\b(?:going|go) out with\b", "dating", plain, flags=re.IGNORECASE)
    plain = re.sub(
        r"\b(?:what|which)\s+(?:date|day|month|year|time|night|week)(?:\s+of\s+the\s+week)?\b",
        "what",
        plain,
        flags=re.IGNORECASE,
    )
    plain = re.sub(IN_LAW, lambda m: f"{IN_LAW_IS[m.group(1).lower()]} in law", plain)
    found_in_law = re.search(r"\b(\w+) in law\b", plain)
    in_law = found_in_law.group(1).lower() if found_in_law else ""
    plain = re.sub(r"\b(\w+) in law\b", r"\1", plain)
    said = words(plain)
    wants = (
        "date"
        if WANTS_DATE.search(question)
        else "place"
        if WANTS_PLACE.search(question)
        else "name"
        if WANTS_NAME.search(question)
        else "thing"
    )
    skip = ASKING | {"place": PLACE_WORDS}.get(wants, frozenset())
    terms = tuple(dict.fromkeys(stem(w.split("'")[0]) for w in said if w not in skip))
    subject = [stem(n.lower()) for n in names]
    head = ""
    required = list(subject)
    for i, w in enumerate(said[:-1]):
        # The words after "my", "our" or "the", up to the next asking word.
        if w in ("my", "our", "the", "his", "her", "their"):
            window: list[str] = []
            for n, after in enumerate(said[i + 1 : i + 3]):
                if after in skip or (n and after in VERBS):
                    break  # "my mum live": the subject is "mum"
                window.append(stem(after))
            subject.extend(window)
            # The thing itself must be spoken of, not what is said of it: "my favourite
            # thing" needs no "favourite", "my little brother" no "little".
            named = [t for t in window if t not in MODIFIERS]
            if named and w != "the":
                required.append(named[-1])
    if wants == "name":
        head = _named_thing(plain)
    return Asked(
        question,
        tuple(t for t in terms if t),
        _subject([t for t in dict.fromkeys(subject) if t in terms]),
        head if wants == "name" and head in terms else "",
        tuple(t for t in dict.fromkeys(required) if t in terms),
        names,
        wants,
        bool(NOW.search(question)),
        bool(PAST.search(question)),
        in_law,
    )
