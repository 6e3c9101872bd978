"""Awesome Agent Failures: one Markdown case study per incident under docs/case-studies/.

The case studies are free Markdown: a `# Title - Month Year` heading, then an "Incident
Overview" of bold `**Key**: value` lines that differ from file to file, then prose sections and
References. What a file does not state plainly stays empty. docs/failure-modes/ describes
failure modes, not incidents, and is not imported.
"""

import re
from datetime import UTC, datetime
from urllib.parse import urljoin

from incidents.models import Dataset, Incident, IncidentOrganisation, Tag

from .base import CrossRef, Importer, Record, SourceRef, unique

REPOSITORY = "https://github.com/vectara/awesome-agent-failures/blob/main/"
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
OVERVIEW_LINE = re.compile(r"^\*\*(?P<key>[^*]+)\*\*:\s*(?P<value>.*?)\s*(<br\s*/?>)?\s*$")
LINK = re.compile(r"\[(?P<text>[^\]]+)\]\((?P<target>[^)\s]+)\)")
RELATIVE_LINK = re.compile(r"(\]\()(?!https?://|mailto:|#)([^)\s]+)(\))")
PARENTHESES = re.compile(r"\s*\([^)]*\)")
# A reference to the AI Incident Database's page of an incident names its record there.
AIID_CITE = re.compile(r"^https?://incidentdatabase\.ai/cite/(\d+)/?$")

MONTH = r"(?:January|February|March|April|May|June|July|August|September|October|November|December)"
# Earliest match wins; at one position a day beats a month beats a year.
DATE = re.compile(
    rf"(?P<day_month>{MONTH})\s+(?P<day>\d{{1,2}})(?:\s*[-–]\s*\d{{1,2}})?,\s*(?P<day_year>\d{{4}})"
    rf"|(?P<month>{MONTH})(?:\s*[-–]\s*{MONTH})?\s+(?P<month_year>\d{{4}})"
    r"|\b(?P<year>(?:19|20)\d{2})\b"
)
# "March 2024" or "Mid-February 2026" at the start: the value dates the incident itself.
DATED_FROM_START = re.compile(rf"^(?:(?:Mid|Early|Late)[- ])?(?:{MONTH}|\d{{4}})")
# "Disclosed April 16, 2026" dates the public disclosure ("Disclosed to Google ..." does not).
DISCLOSED_FROM_START = re.compile(rf"^Disclosed\s+{MONTH}")
TITLE_DATE = re.compile(
    rf"\s+[-–—]\s+(?:{MONTH}(?:\s*[-–]\s*{MONTH})?\s+)?\d{{4}}(?:\s*[-–]\s*\d{{4}})?$"
    r"|\s+\(\d{4}\)$"
)
OCCURRED_KEYS = ["Incident Date", "Date"]
DISCLOSED_KEYS = ["Date Disclosed", "Date Published", "Advisory Published"]
DEPLOYER_KEYS = ["Company", "Organization", "Publication", "Institution", "Firm"]
SYSTEM_KEYS = ["Agent", "Product", "Affected Software"]
# Link targets in "Failure Mode" lines, named as the repository's README names them.
FAILURE_MODES = {
    "goal-misinterpretation": "Goal Misinterpretation",
    "plan-generation": "Plan Generation Failures",
    "prompt-injection": "Prompt Injection",
    "response-hallucination": "Response Hallucination",
    "tool-hallucination": "Tool Hallucination",
    "tool-use": "Incorrect Tool Use",
    "incorrect-tool-use": "Incorrect Tool Use",
    "verification-termination": "Verification & Termination Failures",
}
PERPETRATORS = [("coding agent", "ai-coding-agent"), ("chatbot", "chatbot")]
# Every case study has these, References last: a file without them was cut short, and
# importing it would empty a good record (its summary, narrative or sources).
REQUIRED_SECTIONS = ["Incident Overview", "What Happened", "References"]


def parse_date(text):
    """The first date in free text as (datetime, precision), or (None, None)."""
    match = DATE.search(text)
    if not match:
        return None, None
    if match["day"]:
        month = datetime.strptime(match["day_month"], "%B").month
        try:
            moment = datetime(int(match["day_year"]), month, int(match["day"]), tzinfo=UTC)
        except ValueError:
            return None, None
        return moment, Incident.Precision.DAY
    if match["month"]:
        month = datetime.strptime(match["month"], "%B").month
        return datetime(int(match["month_year"]), month, 1, tzinfo=UTC), Incident.Precision.MONTH
    return datetime(int(match["year"]), 1, 1, tzinfo=UTC), Incident.Precision.YEAR


def plain(markdown):
    """Markdown inline text as plain words: links keep their text, emphasis goes."""
    text = LINK.sub(lambda m: m["text"], markdown)
    return " ".join(text.replace("**", "").replace("`", "").split())


def without_parentheses(text):
    return PARENTHESES.sub("", text).strip()


class AwesomeAgentFailuresImporter(Importer):
    dataset = Dataset.AWESOME_AGENT_FAILURES
    licence = "Apache-2.0"
    description = "Awesome Agent Failures: the repository folder or its docs/case-studies folder"

    def records(self):
        folder = self.path
        if (folder / "docs" / "case-studies").is_dir():
            folder = folder / "docs" / "case-studies"
        if not folder.is_dir():
            self.fail(None, None, "expected the repository folder or docs/case-studies")
        files = sorted(folder.glob("*.md"))
        if not files:
            self.fail(None, None, "no Markdown case studies in this folder")
        for path in files:
            yield self.record(path)

    def record(self, path):
        lines = self.read_text(path).splitlines()
        title_line, title = next(
            (
                (n, m[2])
                for n, text in enumerate(lines, 1)
                if (m := HEADING.match(text)) and m[1] == "#"
            ),
            (None, ""),
        )
        if not title:
            self.fail(1, "title", "no '# Title' heading: is this a case study?", path)
        sections = self.sections(lines)
        missing = [
            name
            for name in REQUIRED_SECTIONS
            if not any(text.strip() for text in sections.get(name.lower(), []))
        ]
        if missing:
            self.fail(
                title_line,
                "sections",
                f"no {', '.join(missing)} section, or an empty one: the file looks truncated. "
                "Every case study has " + ", ".join(REQUIRED_SECTIONS),
                path,
            )
        overview = {}
        for text in sections.get("incident overview", []):
            if match := OVERVIEW_LINE.match(text.strip()):
                overview.setdefault(match["key"].strip(), match["value"].strip())

        occurred, precision = None, Incident.Precision.DAY
        disclosed = None
        dated = next((overview[key] for key in OCCURRED_KEYS if overview.get(key)), "")
        if DATED_FROM_START.match(dated):
            occurred, precision = parse_date(dated)
            precision = precision or Incident.Precision.DAY
        elif DISCLOSED_FROM_START.match(dated):
            disclosed, disclosed_precision = parse_date(dated)
            if disclosed_precision != Incident.Precision.DAY:
                disclosed = None
        for key in DISCLOSED_KEYS:
            if disclosed is None and overview.get(key):
                moment, disclosed_precision = parse_date(overview[key])
                if disclosed_precision == Incident.Precision.DAY:
                    disclosed = moment

        organisations = [
            (without_parentheses(plain(overview[key])), IncidentOrganisation.Role.DEPLOYER)
            for key in DEPLOYER_KEYS
            if overview.get(key)
        ]
        systems = [
            without_parentheses(plain(overview[key])) for key in SYSTEM_KEYS if overview.get(key)
        ]
        # "Anthropic (Claude Code Security Review), Google (Gemini CLI Action), ..."
        for vendor in re.findall(r"([^,(]+)\(([^)]+)\)", overview.get("Affected Vendors", "")):
            organisations.append((vendor[0].strip(), IncidentOrganisation.Role.DEVELOPER))
            systems.append(vendor[1].strip())

        tags = [
            (Tag.Facet.FAILURE_MODE, FAILURE_MODES.get(self.stem(m["target"]), m["text"].strip()))
            for m in LINK.finditer(overview.get("Failure Mode", ""))
        ]
        technology = overview.get("Technology", "").lower()
        perpetrator = next((slug for word, slug in PERPETRATORS if word in technology), "")

        url = urljoin(REPOSITORY, f"docs/case-studies/{path.name}")
        references = list(LINK.finditer("\n".join(sections.get("references", []))))
        for number in unique(m[1] for r in references if (m := AIID_CITE.match(r["target"]))):
            self.cross_references.append(
                CrossRef(Dataset.AWESOME_AGENT_FAILURES, path.stem, Dataset.AIID, number, url)
            )
        happened = sections.get("what happened", [])
        paragraphs = "\n".join(happened).split("\n\n")
        summary = next(
            (plain(p) for p in paragraphs if p.strip() and not p.lstrip().startswith("#")), ""
        )
        return Record(
            external_id=path.stem,
            line=title_line,
            title=TITLE_DATE.sub("", plain(title)),
            summary=summary,
            narrative=self.narrative(lines, url),
            url=url,
            occurred_at=occurred,
            occurred_precision=precision,
            perpetrator=perpetrator,
            organisations=unique(organisations),
            ai_systems=unique(name for name in systems if name),
            tags=unique(tags),
            sources=[
                SourceRef(url=m["target"], title=plain(m["text"]))
                for m in references
                if m["target"].startswith(("http://", "https://"))
            ],
            fields={
                "blast_radius_notes": plain(overview.get("Impact", "")),
                "disclosed_on": disclosed.date() if disclosed else None,
            },
            path=path,
        )

    @staticmethod
    def stem(target):
        return target.rsplit("/", 1)[-1].removesuffix(".md")

    @staticmethod
    def sections(lines):
        """Level-two sections by lower-cased heading: {"what happened": [lines], ...}."""
        sections, current = {}, None
        for text in lines:
            match = HEADING.match(text)
            if match and len(match[1]) == 2:
                current = sections.setdefault(match[2].strip().lower(), [])
            elif match and len(match[1]) == 1:
                current = None
            elif current is not None:
                current.append(text)
        return sections

    @staticmethod
    def narrative(lines, url):
        """The prose after the overview, up to References, with relative links made absolute
        so they still work on this site."""
        kept, keep = [], False
        for text in lines:
            match = HEADING.match(text)
            if match and len(match[1]) <= 2:
                heading = match[2].strip().lower()
                keep = len(match[1]) == 2 and heading not in ("incident overview", "references")
            if keep:
                kept.append(RELATIVE_LINK.sub(lambda m: m[1] + urljoin(url, m[2]) + m[3], text))
        return "\n".join(kept).strip()
