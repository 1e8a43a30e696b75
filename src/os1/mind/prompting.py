"""Prompt assembly within a token budget.

Order matters for speed: the persona and profile come first and change only after a
reflection, then recent turns, which only grow, then recalled memories and the user's
newest line. A base model's KV cache therefore covers almost the whole prompt from one
turn to the next.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from os1.domain import ChatMessage, Persona, Prompt, Role, ToolSpec, Turn, UserProfile
from os1.memory.recall.retrieval import Recollection
from os1.mind.templates import fill, load, one_line

TokenCounter = Callable[[str], int]
ELLIPSIS = " […] "


@dataclass(frozen=True)
class Budget:
    context_window: int
    max_reply_tokens: int

    @property
    def prompt_tokens(self) -> int:
        # Room for the reply, plus a little slack for tokenizer differences at joins.
        return max(self.context_window - self.max_reply_tokens - 16, 64)


def fit(text: str, max_tokens: int, count: TokenCounter) -> str:
    """Shorten ``text`` to ``max_tokens``, keeping its beginning and end."""
    if max_tokens <= 0:
        return ""
    # Tokens rarely average over eight characters, so a longer text cannot fit and
    # a megabyte is never tokenized whole.
    if len(text) <= max_tokens * 8 and count(text) <= max_tokens:
        return text
    keep = max_tokens * 3
    while keep > 8:
        head, tail = text[: keep // 2], text[-(keep // 2) :]
        candidate = head + ELLIPSIS + tail
        if count(candidate) <= max_tokens:
            return candidate
        keep = int(keep * 0.8)
    return text[:max_tokens]


def _join(items: Sequence[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def persona_values(persona: Persona, profile: UserProfile) -> dict[str, str]:
    pronoun = persona.pronoun
    facts = [f"{profile.name} is {profile.social}." if profile.social else ""]
    if profile.mother:
        facts.append(f'{profile.name}, on their mother: "{one_line(profile.mother)}".')
    facts.extend(f"{k}: {v}." for k, v in profile.facts.items())
    return {
        "ai": persona.name,
        "user": profile.name,
        "possessive": {"she": "her", "he": "his", "they": "their"}[pronoun],
        "traits": _join(persona.traits) or "warm and curious",
        "interests": _join(persona.interests) or "people, ideas and music",
        "feelings": persona.feelings,
        "profile": " ".join(f for f in facts if f),
    }


class PromptBuilder:
    def __init__(self, budget: Budget, count: TokenCounter, temperature: float = 0.7) -> None:
        self.budget = budget
        self.count = count
        self.temperature = temperature
        self._templates = load("conversation")

    def preamble(self, persona: Persona, profile: UserProfile) -> str:
        return fill(self._templates["preamble"], **persona_values(persona, profile))

    def build(
        self,
        persona: Persona,
        profile: UserProfile,
        history: Sequence[Turn],
        memories: Sequence[Recollection],
        message: str,
        context: Sequence[str] = (),
        tools: Sequence[ToolSpec] = (),
    ) -> Prompt:
        """``context``: lines from skills about what is true now ("Theodore has a call at
        3"), shown just before the newest line. ``tools``: offered to capable models."""
        values = persona_values(persona, profile)
        preamble = fill(self._templates["preamble"], **values)
        remaining = self.budget.prompt_tokens - self.count(preamble)
        # The newest message always fits, shortened in the middle if it must be.
        user_line = f"{profile.name}: {one_line(message)}"
        user_line = fit(user_line, max(remaining // 2, 32), self.count)
        tail = f"{user_line}\n{persona.name}:"
        asides = "".join(
            fill(self._templates["context_line"], text=quoted(fit(one_line(c), 80, self.count)))
            + "\n"
            for c in context
        )
        tail = asides + tail
        remaining -= self.count(tail)

        memory_lines: list[str] = []
        memory_budget = remaining // 4
        for memory in memories:
            # Who said it, plainly: "Theodore told Samantha", never a bare quote whose
            # pronouns the model would take as its own.
            by_companion = memory.turn.role is Role.COMPANION
            line = fill(
                self._templates["memory_line_own" if by_companion else "memory_line"],
                ai=persona.name,
                user=profile.name,
                when=memory.turn.created_at.strftime("%d %B %Y").lstrip("0"),
                speaker=memory.turn.speaker,
                text=quoted(fit(one_line(memory.turn.text), 60, self.count)),
            )
            cost = self.count(line) + 1
            if cost > memory_budget:
                break
            memory_lines.append(line)
            memory_budget -= cost
            remaining -= cost

        kept: list[Turn] = []
        for turn in reversed(history):
            cost = self.count(_line(turn)) + 1
            if cost > remaining:
                break
            kept.append(turn)
            remaining -= cost
        kept.reverse()

        fixed = preamble
        body = "".join(_line(t) + "\n" for t in kept)
        completion = fixed + body + "".join(m + "\n" for m in memory_lines) + tail
        return Prompt(
            completion=completion,
            chat=self._chat(values, kept, memories[: len(memory_lines)], message, context),
            stop=("\n", f"{profile.name}:"),
            max_tokens=self.budget.max_reply_tokens,
            temperature=self.temperature,
            cache_prefix=len(fixed + body),
            tools=tuple(tools),
        )

    def _chat(
        self,
        values: dict[str, str],
        history: Sequence[Turn],
        memories: Sequence[Recollection],
        message: str,
        context: Sequence[str],
    ) -> tuple[ChatMessage, ...]:
        messages = [ChatMessage("system", fill(self._templates["system"], **values))]
        for turn in history:
            if turn.role is Role.USER:
                messages.append(ChatMessage("user", turn.text))
            else:
                messages.append(ChatMessage("assistant", turn.text))
        # Memories and context lines hold words that are not the user's own message
        # (earlier turns, a calendar invite's title): they go to the model as quoted data in
        # the user's role, never in the system message, so they cannot pose as instructions.
        notes = [
            f"- {m.turn.created_at:%d %B %Y}, {m.turn.speaker} said: "
            + quoted(one_line(m.turn.text))
            for m in memories
        ]
        notes += [f"- {quoted(one_line(c))}" for c in context]
        if notes:
            listed = "\n".join(notes)
            messages.append(
                ChatMessage("user", fill(self._templates["memory_data"], memories=listed))
            )
        messages.append(ChatMessage("user", message))
        return tuple(messages)


def quoted(text: str) -> str:
    """``text`` inside double quotes, with its own quotes and brackets made harmless, so a
    stored ``")`` cannot end the quotation and speak as the prompt."""
    cleaned = text.replace("\\", " ").replace('"', "'").replace("(", "[").replace(")", "]")
    return f'"{cleaned}"'


def _line(turn: Turn) -> str:
    return f"{turn.speaker}: {one_line(turn.text)}"
