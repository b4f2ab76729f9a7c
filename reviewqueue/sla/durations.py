"""Durations as people write them on the command line and the mailbox page: `90s`, `30m`, `4h`, `2d`."""

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"([0-9]{1,7})([smhd])")  # [0-9]: \d would take other scripts' digits
# Words that clear a duration (no target, no expiry).
OFF_WORDS = ("off", "none")


class BadDuration(ValueError):
    """A duration that is not a positive whole number followed by s, m, h or d; the message names it."""


def parse_duration(text: str) -> timedelta:
    """`90s` → 90 seconds, `30m`, `4h`, `2d`. Anything else (`5`, `1.5h`, `0m`, `-2d`, `4 hours`) raises BadDuration."""
    value = (text or "").strip().lower()
    match = _PATTERN.fullmatch(value)
    if match is None or int(match.group(1)) == 0:
        raise BadDuration(f"bad duration {text!r}: write a positive whole number and a unit, e.g. 90s, 30m, 4h or 2d")
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def parse_optional_duration(text: str) -> timedelta | None:
    """As parse_duration, but `off` or `none` (or nothing) means no duration at all."""
    if (text or "").strip().lower() in ("", *OFF_WORDS):
        return None
    return parse_duration(text)


def format_duration(value: timedelta | None) -> str:
    """The shortest exact spelling parse_duration reads back (`2d`, `36h`, `90s`); "off" for None."""
    if value is None:
        return "off"
    seconds = int(value.total_seconds())
    for unit in ("d", "h", "m"):
        # A day is written 24h (as people set an expiry of "24h"); 2d and more in days.
        if seconds % _UNITS[unit] == 0 and (unit != "d" or seconds >= 2 * _UNITS["d"]):
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"
