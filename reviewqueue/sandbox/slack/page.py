"""The channel page: messages drawn from their blocks, buttons that post back, the user's modal.

mrkdwn is shown as the text it spells (HTML-escaped; Slack's &amp; &lt; &gt; undone first, *bold*
shown bold). The page reloads itself every 2 s while no modal is open, so an edit in place or
an ephemeral answer shows without a click.
"""

from __future__ import annotations

import html
import re

from reviewqueue.sandbox.slack import defaults

_BOLD = re.compile(r"\*([^*\n]+)\*")

STYLE = """body{font:15px system-ui,sans-serif;margin:0;display:flex;min-height:100vh}
nav{background:#3f0e40;color:#fff;padding:1rem;width:14rem}nav a{color:#fff}main{flex:1;padding:1rem 2rem}
.msg{border-bottom:1px solid #ddd;padding:.75rem 0}.ctx{color:#555;font-size:13px}.edited{color:#777;font-size:12px}
button,.button{margin:.25rem .25rem 0 0;padding:.3rem .8rem;border:1px solid #999;border-radius:4px;background:#fff;
color:#1d1c1d;text-decoration:none;font:inherit}button.primary{background:#007a5a;color:#fff}
button.danger{background:#e01e5a;color:#fff}.told{background:#fff8e1;border-left:4px solid #e8a400;padding:.5rem}
dialog{position:fixed;top:10vh;border:1px solid #999;border-radius:8px;width:32rem}textarea{width:100%;min-height:6rem}
.error{color:#b00020}"""


def channel_page(state, user: str, interactions_url: str) -> str:
    channel_id = defaults.CHANNEL
    channel = state.channel(channel_id) or {"name": "?", "messages": []}
    users = state.data["users"]
    modal = state.data["modals"].get(user)
    refresh = "" if modal else '<meta http-equiv="refresh" content="2">'
    told = "".join(
        f'<p class="told" role="status">Only visible to you: {_text(text)}</p>'
        for text in state.data["ephemeral"].get(user, [])[-3:]
    )
    messages = "".join(_message(m, channel_id, user) for m in channel["messages"]) or "<p>No messages yet.</p>"
    switch = " · ".join(
        f'<a href="/?as={html.escape(uid)}">{html.escape(u["name"])}</a>' + (" (you)" if uid == user else "")
        for uid, u in users.items()
    )
    name = users.get(user, {}).get("name", user)
    app = f"interactions go to {html.escape(interactions_url)}" if interactions_url else "no interactivity URL set"
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8>{refresh}<title>#{html.escape(channel['name'])} · "
        f"Slack sandbox</title><style>{STYLE}</style></head><body><nav><h1>Slack sandbox</h1>"
        f"<p>#{html.escape(channel['name'])}</p><p>Signed in as {html.escape(name)}</p>"
        f"<p>Switch: {switch}</p><p class=ctx>{app}</p></nav><main><h2>#{html.escape(channel['name'])}</h2>"
        f"{told}{messages}{_modal(modal, user) if modal else ''}</main></body></html>"
    )


def _message(message: dict, channel: str, user: str) -> str:
    parts = [_block(block, channel, message["ts"], user) for block in message.get("blocks") or []]
    if not parts:
        parts = [f"<p>{_text(message.get('text', ''))}</p>"]
    edited = '<span class="edited">(edited)</span>' if message.get("edited") else ""
    ts = html.escape(message["ts"])
    return f'<article class="msg" data-ts="{ts}"><b>reviewqueue</b> {edited}{"".join(parts)}</article>'


def _block(block: dict, channel: str, ts: str, user: str) -> str:
    kind = block.get("type")
    if kind == "section":
        return f"<p>{_text((block.get('text') or {}).get('text', ''))}</p>"
    if kind == "context":
        return f'<p class="ctx">{" ".join(_text(e.get("text", "")) for e in block.get("elements", []))}</p>'
    if kind == "actions":
        return "<div>" + "".join(_button(e, block, channel, ts, user) for e in block.get("elements", [])) + "</div>"
    return ""


def _button(element: dict, block: dict, channel: str, ts: str, user: str) -> str:
    label = html.escape((element.get("text") or {}).get("text", ""))
    if element.get("url"):
        return f'<a class="button" href="{html.escape(element["url"])}" target="_blank">{label}</a>'
    fields = {
        "as": user,
        "channel": channel,
        "ts": ts,
        "action_id": element.get("action_id", ""),
        "block_id": block.get("block_id", ""),
        "value": element.get("value", ""),
    }
    hidden = "".join(f'<input type="hidden" name="{k}" value="{html.escape(str(v))}">' for k, v in fields.items())
    style = html.escape(element.get("style", ""))
    button = f'<button class="{style}">{label}</button>'
    return f'<form method="post" action="/_click" style="display:inline">{hidden}{button}</form>'


def _modal(view: dict, user: str) -> str:
    errors = view.get("errors") or {}
    typed = view.get("typed") or {}
    rows = []
    for block in view.get("blocks", []):
        if block.get("type") == "input":
            element = block.get("element", {})
            block_id = block.get("block_id", "")
            name = f"input:{block_id}:{element.get('action_id', '')}"
            label = html.escape((block.get("label") or {}).get("text", ""))
            error = f'<p class="error" role="alert">{_text(errors[block_id])}</p>' if block_id in errors else ""
            value = html.escape(typed.get(block_id, ""))
            rows.append(f'<label>{label}<br><textarea name="{html.escape(name)}">{value}</textarea></label>{error}')
        else:
            rows.append(_block(block, "", "", user))
    title = html.escape((view.get("title") or {}).get("text", ""))
    submit = html.escape((view.get("submit") or {}).get("text", "Submit"))
    return (
        f'<dialog open aria-label="{title}"><h3>{title}</h3><form method="post" action="/_view_submit">'
        f'<input type="hidden" name="as" value="{html.escape(user)}">'
        f'<input type="hidden" name="view_id" value="{html.escape(view.get("id", ""))}">{"".join(rows)}'
        f'<button class="primary" type="submit">{submit}</button></form></dialog>'
    )


def _text(mrkdwn: str) -> str:
    plain = (mrkdwn or "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return _BOLD.sub(r"<b>\1</b>", html.escape(plain)).replace("\n", "<br>")
