"""The windows of Claude Code's ``rate_limits`` report, with no imports at all.

``ctxtop.core.limits`` builds its ``OfficialLimit`` on this; the statusline's fast path
(``ctxtop.statusline_fast``) uses it directly, where even ``dataclasses`` costs too much.
"""

WINDOWS = (("five_hour", "5h"), ("seven_day", "7d"))
"""Claude Code's ``rate_limits`` keys and their short labels."""


def limit_windows(rate_limits: object, now: float) -> list[tuple[str, str, float, float | None]]:
    """(key, label, used %, reset time) of each window in ``rate_limits``; one whose reset passed is dropped."""
    out: list[tuple[str, str, float, float | None]] = []
    if not isinstance(rate_limits, dict):
        return out
    for key, label in WINDOWS:
        entry = rate_limits.get(key)
        if not isinstance(entry, dict):
            continue
        used = entry.get("used_percentage")
        if isinstance(used, bool) or not isinstance(used, int | float):
            continue
        resets = entry.get("resets_at")
        resets_at = (
            float(resets) if isinstance(resets, int | float) and not isinstance(resets, bool) else None
        )
        if resets_at is not None and resets_at > 1e11:  # milliseconds
            resets_at /= 1000
        if resets_at is not None and resets_at <= now:
            continue
        out.append((key, label, float(used), resets_at))
    return out
