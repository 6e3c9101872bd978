"""Everything the site shows from Markdown goes through render_markdown; nothing in it may run."""

import html
import re
from html.parser import HTMLParser

import pytest

from incidents.markdown import render_markdown

from .factories import IncidentFactory

DANGEROUS_SCHEME = re.compile(r"^(javascript|vbscript|data):", re.IGNORECASE)
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "srcdoc"}
ACTIVE_TAGS = {"script", "iframe", "svg", "math", "img", "object", "embed", "form", "style", "meta"}


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements = []
        self.script_text = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))
        self._in_script = tag == "script"

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, attrs))

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.script_text.append(data)


def elements(markup):
    parser = _Elements()
    parser.feed(markup)
    parser.close()
    return parser


def _normalised_url(value):
    # Browsers ignore leading spaces and controls and any tab or newline inside a URL.
    return re.sub(r"[\x00-\x20]", "", html.unescape(value or ""))


def executable_parts(markup):
    """What in this HTML a browser could run: active tags, handlers, script-ish URLs."""
    found = []
    for tag, attrs in elements(markup).elements:
        if tag in ACTIVE_TAGS:
            found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                found.append(f"{tag}[{name}]")
            elif name in URL_ATTRIBUTES and DANGEROUS_SCHEME.match(_normalised_url(value)):
                found.append(f"{tag}[{name}={value}]")
    return found


XSS_PAYLOADS = {
    "script-tag": "<script>alert(1)</script>",
    "script-src-uppercase": "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "split-script-tag": "<<script>script>alert(1)<</script>/script>",
    "img-onerror": '<img src=x onerror="alert(1)">',
    "html-javascript-link": '<a href="javascript:alert(1)">x</a>',
    "mixed-case-javascript-link": '<a href="JaVaScRiPt:alert(1)">x</a>',
    "entity-encoded-javascript-link": (
        '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>'
    ),
    "hex-entity-and-colon-entity": '<a href="&#x6A;avascript&colon;alert(1)">x</a>',
    "tab-inside-scheme": '<a href="java&#9;script:alert(1)">x</a>',
    "newline-inside-scheme": '<a href="java\nscript:alert(1)">x</a>',
    "leading-space-and-control": '<a href=" \x01javascript:alert(1)">x</a>',
    "vbscript-link": '<a href="vbscript:msgbox(1)">x</a>',
    "markdown-javascript-link": "[x](javascript:alert(1))",
    "markdown-angle-javascript-link": "[x](<javascript:alert(1)>)",
    "markdown-entity-javascript-link": "[x](&#106;avascript:alert(1))",
    "markdown-javascript-image": "![x](javascript:alert(1))",
    "reference-style-link": "[x][evil]\n\n[evil]: javascript:alert(1) 'title'",
    "implicit-reference-link": "See [evil].\n\n[evil]: <javascript:alert(1)>",
    "markdown-autolink-javascript": "<javascript:alert(1)>",
    "markdown-data-url": "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "html-data-url": '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    "data-url-image": '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    "svg-onload": '<svg onload="alert(1)"><circle r="1"/></svg>',
    "iframe": '<iframe src="https://evil.example"></iframe>',
    "object": '<object data="javascript:alert(1)"></object>',
    "form-action": '<form action="javascript:alert(1)"><button>go</button></form>',
    "meta-refresh": '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "style-attribute": '<p style="background:url(javascript:alert(1))">x</p>',
    "style-element": "<style>body { background: url(javascript:alert(1)) }</style>",
    "onclick-on-allowed-link": '<a href="https://example.com" onclick="alert(1)">x</a>',
    "onmouseover-on-allowed-tag": '<strong onmouseover="alert(1)">x</strong>',
    "onfocus-autofocus": '<a title="x" onfocus="alert(1)" autofocus href="#">x</a>',
    "mutation-xss": "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "autolink-attribute-breakout": '<https://example.com/" onmouseover="alert(1)>',
}


@pytest.mark.parametrize("payload", XSS_PAYLOADS.values(), ids=XSS_PAYLOADS.keys())
def test_nothing_executable_survives_rendering(payload):
    rendered = render_markdown(payload)

    assert "<script" not in rendered.lower()
    assert "javascript:" not in rendered.lower()
    assert executable_parts(rendered) == []


def test_the_checker_itself_spots_executable_html():
    assert executable_parts('<a href="java&#9;script:x" onclick="y">z</a><img src=x>') == [
        "a[href=java\tscript:x]",
        "a[onclick]",
        "<img>",
    ]


def test_a_top_level_heading_becomes_a_second_level_one():
    assert render_markdown("# Impact") == "<h2>Impact</h2>"


def test_ordinary_markdown_survives():
    rendered = render_markdown(
        "## Root cause\n\n"
        "The agent had *broad* **write** access.\n\n"
        "- first\n- second\n\n"
        "1. detect\n2. resolve\n\n"
        "> quoted statement\n\n"
        "Run `terraform destroy` only with review:\n\n"
        "```\nterraform plan\n```\n\n"
        "| Service | Minutes down |\n|---|---|\n| Cost Explorer | 780 |\n\n"
        '[Postmortem](https://example.com/postmortem "Official") or '
        "[email us](mailto:press@example.com)."
    )

    # Headings move one level down: the page's own title is the only <h1>.
    assert "<h3>Root cause</h3>" in rendered
    assert "<em>broad</em> <strong>write</strong>" in rendered
    assert "<ul>\n<li>first</li>\n<li>second</li>\n</ul>" in rendered
    assert "<ol>\n<li>detect</li>\n<li>resolve</li>\n</ol>" in rendered
    assert "<blockquote>" in rendered
    assert "<code>terraform destroy</code>" in rendered
    assert "<pre><code>terraform plan\n</code></pre>" in rendered
    assert "<th>Service</th>" in rendered
    assert "<td>Cost Explorer</td>" in rendered
    assert (
        '<a href="https://example.com/postmortem" title="Official" '
        'rel="nofollow noopener noreferrer">Postmortem</a>'
    ) in rendered
    assert (
        '<a href="mailto:press@example.com" rel="nofollow noopener noreferrer">email us</a>'
    ) in rendered


def test_it_overrides_a_rel_the_author_wrote():
    rendered = render_markdown('<a href="https://example.com" rel="opener">x</a>')

    assert rendered == (
        '<p><a href="https://example.com" rel="nofollow noopener noreferrer">x</a></p>'
    )


def test_empty_text_renders_as_nothing():
    assert render_markdown("") == ""
    assert render_markdown(None) == ""


def test_a_malicious_narrative_is_harmless_on_the_public_page(reader):
    marker = "blastxss"
    incident = IncidentFactory(
        narrative=(
            "Safe **opening** paragraph.\n\n"
            f"<script>alert('{marker}')</script>\n\n"
            f"<img src=x onerror=\"alert('{marker}')\">\n\n"
            f"[click me](javascript:{marker}())\n\n"
            f"<svg onload=\"alert('{marker}')\"></svg>"
        ),
        remediation=f"<iframe src=\"javascript:alert('{marker}')\"></iframe>Fixed.",
    )

    response = reader.get(incident.get_absolute_url())

    assert response.status_code == 200
    page = response.content.decode()
    assert "Safe <strong>opening</strong> paragraph." in page
    parsed = elements(page)
    assert not any(marker in text for text in parsed.script_text)
    assert not [
        (tag, attrs)
        for tag, attrs in parsed.elements
        if any(marker in (value or "") for _, value in attrs)
    ]
    assert f"<script>alert('{marker}')" not in page
