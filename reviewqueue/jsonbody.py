"""JSON request bodies from outside, parsed strictly: one parser for every entry point that takes them.

Agents (POST /api/v1/drafts), reviewers' API clients (the decision API), MultiMail and Intercom (the
webhook receivers) all send JSON. Python's json module reads more than JSON, and survives less:
- `NaN`, `Infinity`, `-Infinity`, and numbers such as `1e999` that overflow to infinity, are not JSON
  (RFC 8259 §6) and PostgreSQL's jsonb refuses them;
- a document nested deeper than the interpreter's recursion limit raises RecursionError (a 500), and
  one nested a little less still costs every recursive walk that follows;
- `\\u0000` and unpaired surrogate escapes decode to text PostgreSQL cannot store.
json_body_parse refuses each with a JsonBodyInvalid whose message says what, and where, for a 400.
"""

import json
import math

from reviewqueue.text import UNSTORABLE_MESSAGE, is_storable, may_hold_unstorable

# Intercom's notifications, the deepest documents we take, nest about ten levels.
MAX_DEPTH = 64


class JsonBodyInvalid(ValueError):
    """The body is not JSON we accept; the message says why, fit to answer with a 400."""


def json_body_parse(raw: bytes, *, stored_whole: bool = False):
    """The document in `raw`, or JsonBodyInvalid.

    `stored_whole`: the document is kept as it came (a jsonb column), so every string in it, keys
    included, must be storable. Where only some fields are kept, their own checks name the field.
    """
    try:
        document = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)
    except JsonBodyInvalid:
        raise
    except RecursionError:
        raise JsonBodyInvalid(f"the body is nested more than {MAX_DEPTH} levels deep") from None
    except UnicodeDecodeError:
        raise JsonBodyInvalid("the body is not UTF-8 text") from None
    except ValueError as error:  # json.JSONDecodeError, or an integer too long to convert
        raise JsonBodyInvalid(f"the body is not valid JSON: {error}") from None
    # NUL and surrogates can only arrive escaped (JSON refuses raw control characters, UTF-8 raw surrogates).
    _check_nodes(document, strings=stored_whole and may_hold_unstorable(raw))
    return document


def _refuse_constant(name: str):
    raise JsonBodyInvalid(f"the body is not valid JSON: {name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise JsonBodyInvalid(f"the body is not valid JSON: the number {text[:40]} is out of range")
    return number


def _check_nodes(document, *, strings: bool) -> None:
    """Depth, and with `strings` every string and key, checked without recursion (the depth is the sender's)."""
    if strings and isinstance(document, str) and not is_storable(document):
        raise JsonBodyInvalid(f"$ {UNSTORABLE_MESSAGE}")
    pending = [(document, 1, None)] if isinstance(document, dict | list) else []
    while pending:
        node, depth, path = pending.pop()
        if depth > MAX_DEPTH:
            raise JsonBodyInvalid(f"the body is nested more than {MAX_DEPTH} levels deep")
        for key, child in node.items() if isinstance(node, dict) else enumerate(node):
            if isinstance(child, dict | list):
                pending.append((child, depth + 1, (path, key)))
            elif strings and isinstance(child, str) and not is_storable(child):
                raise JsonBodyInvalid(f"{_spelled((path, key))} {UNSTORABLE_MESSAGE}")
            if strings and isinstance(key, str) and not is_storable(key):
                raise JsonBodyInvalid(f"a key in {_spelled(path)} {UNSTORABLE_MESSAGE}")


def _spelled(path) -> str:
    """`$.data.item.parts[3]` for the (parent, key) chain kept while walking (spelled only when needed)."""
    steps = []
    while path is not None:
        path, key = path
        steps.append(f"[{key}]" if isinstance(key, int) else f".{key}")
    return "$" + "".join(reversed(steps))
