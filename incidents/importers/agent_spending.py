"""Agent Spending Incidents: AI agents that overspent, paid the wrong party or leaked payment
credentials, one per row of incidents.csv."""

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from incidents.models import Dataset, Incident, Tag

from .base import Importer, Record, SourceRef, unique

REQUIRED = [
    "id",
    "incident_date",
    "reported_date",
    "title",
    "category",
    "agent_or_product",
    "amount_usd",
    "description",
    "primary_source_url",
]
PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
# "research-demo" says how the incident came about, not how the agent failed.
NOT_A_FAILURE_MODE = {"research-demo"}
# agent_or_product is prose: "Grok (xAI) + Bankrbot (Bankr Club trading bot on X/Base)".
PARENTHESES = re.compile(r"\s*\([^)]*\)")
SYSTEM_SEPARATOR = re.compile(r"\s+\+\s+|,\s+")
SYSTEM_QUALIFIER = re.compile(r"\s+(via|on|run by|with)\s+.*$")
UNNAMED = re.compile(r"^(unnamed|unspecified)\b", re.IGNORECASE)


def system_names(text):
    names = []
    for part in SYSTEM_SEPARATOR.split(PARENTHESES.sub("", text)):
        name = SYSTEM_QUALIFIER.sub("", part).replace('"', "").strip()
        if name and not UNNAMED.match(name):
            names.append(name)
    return unique(names)


class AgentSpendingImporter(Importer):
    dataset = Dataset.AGENT_SPENDING
    licence = "CC BY 4.0"
    description = "Agent Spending Incidents: its incidents.csv (or the folder holding it)"

    def records(self):
        if self.path.is_dir():
            self.path = self.path / "incidents.csv"
        for line, row in self.read_csv(self.path):
            self.require_columns(self.path, line, row, REQUIRED)
            yield self.record(line, row)

    def partial_date(self, line, field_name, value):
        """YYYY, YYYY-MM or YYYY-MM-DD as (first moment, precision); blank is (None, day)."""
        value = value.strip()
        if not value:
            return None, Incident.Precision.DAY
        match = PARTIAL_DATE.match(value)
        try:
            if not match:
                raise ValueError
            year, month, day = match.groups()
            moment = datetime(int(year), int(month or 1), int(day or 1), tzinfo=UTC)
        except ValueError:
            self.fail(line, field_name, f"not a YYYY, YYYY-MM or YYYY-MM-DD date: {value!r}")
        precision = (
            Incident.Precision.DAY
            if day
            else Incident.Precision.MONTH
            if month
            else Incident.Precision.YEAR
        )
        return moment, precision

    def record(self, line, row):
        identifier = row["id"].strip()
        if not identifier:
            self.fail(line, "id", "every incident needs an id")
        occurred, precision = self.partial_date(line, "incident_date", row["incident_date"])
        reported, reported_precision = self.partial_date(
            line, "reported_date", row["reported_date"]
        )
        amount_text = row["amount_usd"].strip().replace(",", "")
        amount = None
        if amount_text:
            try:
                amount = Decimal(amount_text)
            except InvalidOperation:
                amount = None
            if amount is None or not amount.is_finite() or amount < 0:
                self.fail(line, "amount_usd", f"not an amount in dollars: {row['amount_usd']!r}")
        sources = []
        for column in ("primary_source_url", "secondary_source_url"):
            url = row.get(column, "").strip()
            if url and not url.startswith(("http://", "https://")):
                self.fail(line, column, f"not an http(s) URL: {url!r}")
            if url:
                sources.append(SourceRef(url=url))
        category = row["category"].strip()
        tags = []
        if category not in NOT_A_FAILURE_MODE:
            # "wrong-payee/wrong-purchase" is two failure modes.
            tags += [
                (Tag.Facet.FAILURE_MODE, part.strip().replace("-", " ").capitalize())
                for part in category.split("/")
                if part.strip()
            ]
        control = row.get("control_that_would_have_helped", "").strip()
        if control:
            tags.append((Tag.Facet.CONTRIBUTING_FACTOR, f"Missing control: {control}"))
        # A month or a year is not a disclosure date; it stays empty rather than be guessed.
        day_reported = reported_precision == Incident.Precision.DAY and reported is not None
        fields = {
            "estimated_cost_usd": amount,
            "disclosed_on": reported.date() if day_reported else None,
        }
        return Record(
            external_id=identifier,
            line=line,
            title=row["title"].strip(),
            summary=row["description"].strip(),
            url=sources[0].url if sources else "",
            occurred_at=occurred,
            occurred_precision=precision,
            ai_systems=system_names(row["agent_or_product"]),
            tags=tags,
            sources=sources,
            fields=fields,
        )
