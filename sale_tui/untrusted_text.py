"""Text from outside (sandbox output, diffs, model replies, a repo's files) made inert for a
terminal: what it says is shown, never done.

Raw, such text reached the terminal with its escape sequences (``ESC[2J`` cleared the screen,
``ESC[1A ESC[2K`` erased a diff line that was still applied, OSC 52 wrote the clipboard).
``inert`` draws every control character as a visible symbol (``␛`` for ESC, the way ``cat -v``
shows them), names the bidirectional overrides that reorder code on screen ("Trojan Source"),
and replaces lone surrogates (which no terminal or UTF-8 file can hold) with ``�``. Newlines
and tabs stay. Standard library only: the CLI, the TUI and the model seam all use it.
"""

from __future__ import annotations

import re

_KEEP = {ord("\n"), ord("\t")}
_TABLE: dict[int, str] = {c: chr(0x2400 + c) for c in range(0x20) if c not in _KEEP}
_TABLE[0x7F] = "\u2421"  # ␡
_TABLE.update({c: f"\\x{c:02x}" for c in range(0x80, 0xA0)})
_TABLE.update({c: f"<U+{c:04X}>" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))})
_TABLE.update({c: "\ufffd" for c in range(0xD800, 0xE000)})

_SURROGATE = re.compile("[\ud800-\udfff]")


def inert(text: str) -> str:
    """``text`` with nothing a terminal would act on."""
    return text.translate(_TABLE)


def without_surrogates(text: str) -> str:
    """A model's text with lone surrogates (a reply's JSON may escape ``\\ud800`` alone) as
    ``�``: they cannot be encoded as UTF-8, so SQLite, files and the terminal would fail on
    them. Everything else is kept as the model wrote it."""
    return _SURROGATE.sub("\ufffd", text)
