"""Text that PostgreSQL can store: no NUL character, no unpaired surrogate (JSON can carry both)."""

import re

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # in a Python str every surrogate is an unpaired one
# In JSON text both can only arrive escaped: \u0000, or a \uD800-\uDFFF escape (paired ones too).
_ESCAPED_UNSTORABLE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
UNSTORABLE_MESSAGE = "must not contain NUL characters or unpaired surrogates (they cannot be stored)"


def is_storable(text: str) -> bool:
    return _UNSTORABLE.search(text) is None


def make_storable(value):
    """`value` (parsed JSON) with every unstorable character replaced by U+FFFD.

    For what vendors send us: their content is shown and kept, never refused. What people send us
    through our own API is refused instead (is_storable), so they learn of it.
    """
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {make_storable(key): make_storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [make_storable(item) for item in value]
    return value


def may_hold_unstorable(raw_json: bytes) -> bool:
    """False when the JSON text `raw_json` cannot decode to anything is_storable refuses."""
    return _ESCAPED_UNSTORABLE.search(raw_json) is not None


def make_storable_json(raw: bytes, parsed):
    """make_storable for a parsed JSON document, skipping the walk when its text escapes none."""
    return make_storable(parsed) if may_hold_unstorable(raw) else parsed
