"""Intercom's search query language, enough of it for the sandbox.

A query is either a single condition `{field, operator, value}` or a compound
`{operator: AND|OR, value: [queries]}`. Operators: = != IN NIN > < ~ (contains) !~ ^ (starts with)
$ (ends with). Field names may be dotted (`source.author.email`); `contact_ids` matches any
contact of a conversation.
"""

from reviewqueue.sandbox.intercom.state import SandboxError

OPERATORS = {"=", "!=", "IN", "NIN", ">", "<", "~", "!~", "^", "$"}


def _values(item: dict, field: str) -> list:
    if field == "contact_ids":
        return [c["id"] for c in item.get("contacts", {}).get("contacts", [])]
    if field == "tag_ids":
        return [t["id"] for t in item.get("tags", {}).get("tags", [])]
    value = item
    for key in field.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return [value]


def _compare(actual, operator: str, expected) -> bool:
    if operator == "=":
        return actual == expected or (actual is not None and str(actual) == str(expected))
    if operator == "!=":
        return not _compare(actual, "=", expected)
    if operator in ("IN", "NIN"):
        if not isinstance(expected, list):
            raise SandboxError(400, "parameter_invalid", f"{operator} needs a list value")
        found = any(_compare(actual, "=", e) for e in expected)
        return found if operator == "IN" else not found
    if operator in (">", "<"):
        try:
            return float(actual) > float(expected) if operator == ">" else float(actual) < float(expected)
        except (TypeError, ValueError):
            return False
    text, needle = str(actual or ""), str(expected)
    return {
        "~": needle in text,
        "!~": needle not in text,
        "^": text.startswith(needle),
        "$": text.endswith(needle),
    }[operator]


def matches(item: dict, query) -> bool:
    if not isinstance(query, dict):
        raise SandboxError(400, "parameter_invalid", "query must be an object")
    operator = query.get("operator")
    if operator in ("AND", "OR"):
        parts = query.get("value")
        if not isinstance(parts, list) or not parts:
            raise SandboxError(400, "parameter_invalid", f"{operator} needs a non-empty list of queries")
        results = (matches(item, part) for part in parts)
        return all(results) if operator == "AND" else any(results)
    field = query.get("field")
    if not isinstance(field, str) or operator not in OPERATORS or "value" not in query:
        raise SandboxError(400, "parameter_invalid", "each condition needs field, operator and value")
    positive = operator not in ("!=", "NIN", "!~")
    values = _values(item, field)
    checks = (_compare(v, operator, query["value"]) for v in values)
    return any(checks) if positive else all(checks)


def page(items: list, pagination) -> tuple[list, dict]:
    """Cursor pagination: `starting_after` is an opaque cursor (here, the offset)."""
    pagination = pagination if isinstance(pagination, dict) else {}
    try:
        per_page = max(1, min(150, int(pagination.get("per_page") or 20)))
        offset = int(pagination.get("starting_after") or 0)
    except (TypeError, ValueError):
        raise SandboxError(400, "parameter_invalid", "per_page and starting_after must be numbers") from None
    chunk = items[offset : offset + per_page]
    total_pages = max(1, -(-len(items) // per_page))
    pages = {"type": "pages", "page": offset // per_page + 1, "per_page": per_page, "total_pages": total_pages}
    if offset + per_page < len(items):
        pages["next"] = {"per_page": per_page, "starting_after": str(offset + per_page)}
    return chunk, pages
