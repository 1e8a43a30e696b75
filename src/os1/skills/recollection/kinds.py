"""Which words name a kind of another: WordNet's nouns, read from Debian's wordnet-base.

People name the thing, not its kind: "Mr. Pickles is an orange tabby" answers "what is
my cat called?", "started drum lessons" answers "what instrument…?", "boleros all
morning" answers "what music…?". WordNet 3.0 (Princeton, a free licence; the Debian
package ``wordnet-base`` ships it in /usr/share/wordnet) says a tabby is a cat. Only
nouns, and only the first senses of each word (the common ones: "cat" is the animal
before it is a man or a whip).

The files are read in place: ``index.noun`` is searched by bisection over a memory map
and a synset is one line of ``data.noun`` at its byte offset, so a server with thousands
of users holds no copy of WordNet (the kernel's page cache shares the pages). Without
the package, nothing is a kind of anything and recollection matches words only.
"""

from __future__ import annotations

import logging
import mmap
import os
from functools import cache, lru_cache
from pathlib import Path

logger = logging.getLogger(__name__)

# OS1_WORDNET points elsewhere (a test, a system that keeps it in another place).
DEFAULT = Path("/usr/share/wordnet")
# Senses read of each word: the first is by far the most used in WordNet's own counts.
WORD_SENSES = 2
KIND_SENSES = 3
# How far up from a word its kinds are followed: tabby → domestic cat → cat is 2;
# bolero → dance music → popular music → music is 3. Six reaches "food" from "pecan pie"
# but not "entity" from everything.
DEPTH = 6
# Too general to tell anything by: every person, place or thing is one of these.
TOO_GENERAL = frozenset(
    "thing things entity object person people someone something place stuff one kind "
    "sort type way part time day year name".split()
)


class WordNet:
    """Lemmas and hypernyms of WordNet's nouns, read from its files on demand."""

    def __init__(self, folder: Path) -> None:
        self._index = _mapped(folder / "index.noun")
        self._data = _mapped(folder / "data.noun")
        self._exceptions = _exceptions(folder / "noun.exc")

    def senses(self, lemma: str) -> tuple[int, ...]:
        """The synset offsets of ``lemma`` (lower case, "_" for spaces), commonest first."""
        line = self._find(lemma.encode("latin-1", "ignore"))
        if line is None:
            return ()
        fields = line.split()
        pointers = int(fields[3])
        return tuple(int(f) for f in fields[6 + pointers :])

    def lemma(self, word: str) -> str | None:
        """The noun ``word`` is a form of ("children" → "child", "cats" → "cat")."""
        word = word.lower().replace(" ", "_")
        if word in self._exceptions:
            return self._exceptions[word]
        for ending, replacement in (("", ""), ("ies", "y"), ("es", ""), ("s", "")):
            if ending and not word.endswith(ending):
                continue
            base = word[: len(word) - len(ending)] + replacement if ending else word
            if base and self._find(base.encode("latin-1", "ignore")) is not None:
                return base
        return None

    def synset(self, offset: int) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """A synset's words, and the synsets one step more general (its kinds and what it
        is an instance of: "@" and "@i")."""
        end = self._data.find(b"\n", offset)
        fields = self._data[offset : end if end >= 0 else len(self._data)].split(b" | ")[0]
        parts = fields.split()
        words = int(parts[3], 16)
        names = tuple(parts[4 + 2 * i].decode("latin-1").lower() for i in range(words))
        at = 4 + 2 * words
        count = int(parts[at])
        out = []
        for k in range(count):
            symbol, target = parts[at + 1 + 4 * k], parts[at + 2 + 4 * k]
            if symbol in (b"@", b"@i") and parts[at + 3 + 4 * k] == b"n":
                out.append(int(target))
        return names, tuple(out)

    def _find(self, key: bytes) -> bytes | None:
        data = self._index
        low, high = 0, len(data)
        while low < high:
            mid = (low + high) // 2
            start = data.rfind(b"\n", 0, mid) + 1
            end = data.find(b"\n", start)
            end = len(data) if end < 0 else end
            line = data[start:end]
            lemma = line.split(b" ", 1)[0]
            if line.startswith(b" ") or lemma < key:  # the licence's lines open the file
                low = end + 1
            elif lemma > key:
                high = start
            else:
                return line
        return None


def _mapped(path: Path) -> mmap.mmap:
    with path.open("rb") as handle:
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)


def _exceptions(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text(encoding="latin-1").splitlines():
            parts = line.split()
            if len(parts) >= 2:
                out.setdefault(parts[0], parts[1])
    return out


@cache
def wordnet() -> WordNet | None:
    """WordNet when its files are there, else None (logged once)."""
    folder = Path(os.environ.get("OS1_WORDNET") or DEFAULT)
    try:
        return WordNet(folder)
    except (OSError, ValueError):
        logger.info(
            "WordNet is not at %s (apt-get install wordnet-base): recollection matches "
            "words only, not kinds",
            folder,
        )
        return None


@lru_cache(maxsize=50_000)
def _above(word: str) -> tuple[frozenset[int], frozenset[str]]:
    """Every synset within DEPTH steps above the first senses of ``word``, and the last
    word of each of their names ("musical_instrument" → "instrument": WordNet files a drum
    under the musical instrument, not under "instrument", which is a tool)."""
    net = wordnet()
    lemma = net.lemma(word) if net else None
    if net is None or lemma is None:
        return frozenset(), frozenset()
    seen: set[int] = set()
    heads: set[str] = set()
    frontier = list(net.senses(lemma)[:WORD_SENSES])
    for _ in range(DEPTH):
        found = []
        for synset in frontier:
            for above in net.synset(synset)[1]:
                if above not in seen:
                    seen.add(above)
                    found.append(above)
                    heads.update(n.rsplit("_", 1)[-1] for n in net.synset(above)[0])
        frontier = found
    return frozenset(seen), frozenset(heads - TOO_GENERAL)


@lru_cache(maxsize=10_000)
def _kind(kind: str) -> tuple[str, frozenset[int]]:
    """The lemma of ``kind`` and its first senses; ("", nothing) when WordNet lacks it or
    it is too general to tell anything by."""
    net = wordnet()
    lemma = net.lemma(kind) if net else None
    if net is None or lemma is None or lemma in TOO_GENERAL:
        return "", frozenset()
    return lemma, frozenset(net.senses(lemma)[:KIND_SENSES])


def is_kind_of(word: str, kind: str) -> bool:
    """Whether ``word`` names a kind (or an instance) of ``kind``: a tabby of a cat, a
    drum of an instrument. The same word is not a kind of itself."""
    if len(word) < 3 or word.lower() == kind.lower():
        return False
    lemma, senses = _kind(kind.lower())
    if not senses:
        return False
    above, heads = _above(word.lower())
    return not senses.isdisjoint(above) or lemma in heads
