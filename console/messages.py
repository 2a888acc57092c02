"""Translatable messages that are stored (check details, diagnostics) and rendered later.

Verifiers run in workers with no reader, so they return msgids (marked with gettext_noop)
plus parameters; the console renders them in the reader's language.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext, gettext_noop  # noqa: F401  (re-exported for callers)


@dataclass(frozen=True)
class Message:
    text: str  # an English msgid, marked with gettext_noop where it is written
    params: dict = field(default_factory=dict)

    def render(self) -> str:
        translated = gettext(self.text)
        return translated % self.params if self.params else translated

    def english(self) -> str:
        return self.text % self.params if self.params else self.text

    def as_json(self) -> dict:
        return {"text": self.text, "params": dict(self.params)}

    @classmethod
    def from_json(cls, data: dict | None) -> "Message | None":
        if not data or "text" not in data:
            return None
        return cls(data["text"], dict(data.get("params") or {}))
