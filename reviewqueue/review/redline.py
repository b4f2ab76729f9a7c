"""Word-level redlines: what an edit (or a revision) changed, readable without colour.

A diff is a list of [op, text] pairs, op "=" (kept), "-" (deleted) or "+" (inserted), text the
words and the whitespace between them, so joining the "=" and "-" parts gives the old text back and
the "=" and "+" parts the new one. It is JSON, so the decision's audit event keeps it as it is.
"""

import difflib
import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_TOKENS = re.compile(r"\s+|\w+|[^\w\s]")


def word_diff(old: str, new: str) -> list[list[str]]:
    """The word-level diff of two texts, as [[op, text], ...] (adjacent parts of one op merged)."""
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    parts: list[list[str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            _append(parts, "=", "".join(a[i1:i2]))
            continue
        _append(parts, "-", "".join(a[i1:i2]))
        _append(parts, "+", "".join(b[j1:j2]))
    return parts


def _append(parts: list[list[str]], op: str, text: str) -> None:
    if not text:
        return
    if parts and parts[-1][0] == op:
        parts[-1][1] += text
    else:
        parts.append([op, text])


def diff_changed(parts: list[list[str]]) -> bool:
    return any(op != "=" for op, _ in parts)


def diff_counts(parts: list[list[str]]) -> tuple[int, int]:
    """(words inserted, words deleted)."""
    added = sum(len(re.findall(r"\w+", text)) for op, text in parts if op == "+")
    removed = sum(len(re.findall(r"\w+", text)) for op, text in parts if op == "-")
    return added, removed


def redline_html(parts: list[list[str]]) -> SafeString:
    """<del>[-old-]</del><ins>{+new+}</ins>: the brackets say it without colour (and survive a copy as text)."""
    html = []
    for op, text in parts:
        if op == "=":
            html.append(escape(text))
        elif op == "-":
            html.append(f'<del class="redline-del">[-{escape(text)}-]</del>')
        else:
            html.append(f'<ins class="redline-ins">{{+{escape(text)}+}}</ins>')
    return mark_safe("".join(html))  # noqa: S308 (every text part is escaped above)


def edit_diff(*, old_subject: str, new_subject: str, old_markdown: str, new_markdown: str) -> dict:
    """{"subject": parts, "markdown": parts}: what the decision records and the pages show."""
    return {"subject": word_diff(old_subject, new_subject), "markdown": word_diff(old_markdown, new_markdown)}


def edit_summary(diff: dict) -> str:
    """One line for people: "subject changed; body: 4 words added, 2 removed"."""
    said = []
    if diff_changed(diff.get("subject", [])):
        said.append("subject changed")
    added, removed = diff_counts(diff.get("markdown", []))
    if added or removed:
        said.append(f"body: {_words(added)} added, {_words(removed)} removed")
    elif diff_changed(diff.get("markdown", [])):
        said.append("body: spacing or punctuation changed")
    return "; ".join(said) or "no change"


def _words(count: int) -> str:
    return f"{count} word" if count == 1 else f"{count} words"


def edit_preview(*, old_subject: str, old_markdown: str, subject: str, markdown: str) -> dict:
    """The edit panel's redline of an edit against the original (the page shows it before any typing, the
    live preview as the reviewer types): both redlines, the summary, and whether anything changed."""
    unchanged = subject == old_subject and markdown == old_markdown
    if unchanged:  # every draft page shows this before any typing: what word_diff would find, without diffing
        diff = {"subject": _kept(subject), "markdown": _kept(markdown)}
    else:
        diff = edit_diff(old_subject=old_subject, new_subject=subject, old_markdown=old_markdown, new_markdown=markdown)
    return {
        "subject": subject,
        "markdown": markdown,
        "subject_redline": redline_html(diff["subject"]),
        "body_redline": redline_html(diff["markdown"]),
        "summary": edit_summary(diff),
        "unchanged": unchanged,
    }


def _kept(text: str) -> list[list[str]]:
    return [["=", text]] if text else []
