"""Who a party is, as far as a source's name for it tells: the kind its name and role imply,
and the key by which differently written names of one party meet.

The kind is a small heuristic on the words of the name, and an editor's choice always wins
over it. It never guesses "person" for a name a source gives as a developer or deployer:
there the role implies an organisation, unless the name is a placeholder ("unknown
deepfake technology developers") or plainly a group ("disinformation spreaders").
"""

from django.utils.text import slugify

from incidents.models import IncidentOrganisation, Organisation

Kind = Organisation.Kind
RESPONSIBLE = {IncidentOrganisation.Role.DEVELOPER, IncidentOrganisation.Role.DEPLOYER}

# A name opening with one of these stands for someone the source does not name.
PLACEHOLDER_WORDS = {
    "unknown", "unnamed", "unidentified", "unspecified", "undisclosed", "anonymous",
    "various", "multiple", "several", "many", "other", "others", "generic", "unverified",
}  # fmt: skip
# A name whose head noun is one of these is a group of people ("bus passengers", "students
# in Vietnam", "general public of India").
GROUP_WORDS = {
    "users", "people", "persons", "individuals", "public", "population", "populations",
    "residents", "citizens", "community", "communities", "customers", "consumers", "clients",
    "patients", "students", "pupils", "children", "minors", "teens", "teenagers", "kids",
    "women", "men", "girls", "boys", "families", "family", "parents", "workers", "employees",
    "staff", "drivers", "passengers", "pedestrians", "riders", "cyclists", "voters",
    "investors", "shoppers", "viewers", "readers", "listeners", "subscribers", "followers",
    "fans", "artists", "creators", "authors", "writers", "musicians", "actors", "journalists",
    "owners", "applicants", "candidates", "tenants", "renters", "homeowners", "borrowers",
    "taxpayers", "victims", "survivors", "immigrants", "refugees", "migrants", "minorities",
    "members", "holders", "professionals", "teachers", "doctors", "nurses", "lawyers",
    "scammers", "fraudsters", "criminals", "cybercriminals", "hackers", "spreaders", "trolls",
    "sysadmins", "maintainers", "researchers", "scientists", "scholars", "academics",
    "farmers", "traders", "sellers", "merchants", "businesses", "companies", "developers",
    "engineers", "officials", "politicians", "celebrities", "influencers", "creatives",
    "players", "gamers", "job-seekers", "jobseekers", "seekers", "recipients", "beneficiaries",
    "defendants", "plaintiffs", "litigants", "inmates", "prisoners", "suspects", "protesters",
    "activists", "advocates", "groups", "elderly", "stakeholders", "observers", "electorate",
    "operators", "exchanges", "teams", "policymakers", "mothers", "fathers", "organizers",
    "organisers", "organizations", "organisations", "outlets", "platforms", "firms",
    "agencies", "institutions", "schools", "universities", "governments", "banks",
    "hospitals", "publishers", "phishers", "supporters", "impersonators", "pranksters",
    "figures", "targets", "critics", "athletes",
}  # fmt: skip
# Words that make a name something other than a person's: what organisations, places and
# products are called, and the joining words of descriptive names.
NOT_PERSON_WORDS = {
    "the", "of", "and", "in", "for", "on", "at", "to", "by", "with", "from", "a",
    "ai", "inc", "ltd", "llc", "plc", "corp", "corporation", "company", "co", "group",
    "technology", "technologies", "tech", "labs", "lab", "systems", "system", "software",
    "solutions", "services", "bank", "university", "college", "school", "academy",
    "institute", "hospital", "clinic", "police", "department", "ministry", "government",
    "council", "agency", "authority", "office", "commission", "court", "party", "army",
    "military", "news", "times", "post", "tv", "television", "radio", "media", "press",
    "network", "channel", "magazine", "journal", "museum", "foundation", "association",
    "society", "union", "federation", "league", "club", "team", "fc", "airlines", "airline",
    "airways", "motors", "transit", "city", "county", "state", "republic", "kingdom",
    "house", "hotel", "restaurant", "store", "shop", "market", "app", "platform", "project",
    "estate", "fund", "capital", "partners", "holdings", "international", "global", "online",
    "digital", "games", "studios", "studio", "pictures", "records", "entertainment", "health",
    "care", "energy", "pharma", "america", "american", "europe", "european", "asia", "africa",
    "china", "chinese", "india", "usa", "uk", "us", "canada", "australia", "japan", "korea",
    "north", "south", "east", "west", "pacific", "national", "federal", "royal", "integrity",
    "security", "safety", "rights", "democracy", "ecosystem", "industry", "sector", "viewer",
    "service", "program", "programme", "initiative", "centre", "center",
    "library", "church", "board", "committee", "parliament", "senate", "congress",
    "administration", "navy", "forces", "brand", "products", "gallery",
}  # fmt: skip
JOINING_WORDS = {
    "of", "in", "from", "on", "at", "with", "who", "using", "for", "impersonating", "posing",
    "targeting", "linked", "behind", "aligned", "depicted", "whose", "interested", "posting",
}  # fmt: skip
# Words only organisations are called by: a harmed party named so is an organisation.
ORGANISATION_WORDS = {
    "inc", "ltd", "llc", "llp", "plc", "corp", "corporation", "company", "technologies", "labs",
    "bank", "university", "college", "school", "academy", "institute", "hospital", "police",
    "department", "ministry", "government", "council", "agency", "authority", "office",
    "commission", "court", "bureau", "times", "news", "tv", "television", "radio", "network",
    "museum", "foundation", "association", "society", "union", "federation", "league", "club",
    "fc", "airlines", "airways", "motors", "party", "army", "navy", "city", "county",
    "parliament", "senate", "congress", "administration", "board", "committee", "library",
    "church", "studios", "entertainment", "campaign", "tribune",
}  # fmt: skip
# A plural ending: a harmed party named so is a group ("legal observers"), though a surname
# may end so too ("Waters"); group is the default for the harmed anyway.
PLURAL_ENDINGS = ("ers", "ors", "ists", "ians", "ees", "ants", "ents")


def party_key(name):
    """Names meet on this: their slug without hyphens, so "Open AI", "open-ai" and "OpenAI"
    are one party, whatever the case and punctuation."""
    return slugify(name).replace("-", "")


def kind_for(name, role):
    """The kind a source's name for a party implies, in the role it gives it."""
    words = slugify(name).split("-")
    if not words or words[0] in PLACEHOLDER_WORDS or words == [""]:
        return Kind.UNKNOWN
    head = words
    for position, word in enumerate(words):
        if word in JOINING_WORDS and position:
            head = words[:position]
            break
    if head[-1] in GROUP_WORDS:
        return Kind.GROUP
    if role in RESPONSIBLE or ORGANISATION_WORDS.intersection(head):
        return Kind.ORGANISATION
    if head[-1].endswith(PLURAL_ENDINGS):
        return Kind.GROUP
    return Kind.PERSON if looks_like_a_person(words) else Kind.GROUP


def looks_like_a_person(words):
    """Two to four plain words, none of which organisations, places or descriptions use:
    "elaine-herzberg", "alexandria-ocasio-cortez"."""
    return 2 <= len(words) <= 4 and all(
        word.isalpha() and len(word) > 1 and word not in NOT_PERSON_WORDS | GROUP_WORDS
        for word in words
    )


# When a party is named in several ways, the surer kind stands: a developer or deployer role
# makes an organisation of it; a name that reads as a person's beats the default "group".
_STRENGTH = {Kind.UNKNOWN: 0, Kind.GROUP: 1, Kind.PERSON: 2, Kind.ORGANISATION: 3}


def surer_kind(current, found):
    return found if _STRENGTH[Kind(found)] > _STRENGTH[Kind(current)] else current
