"""The source vocabularies: each field of a public dataset whose values we keep as the source
gives them, and map to the house facets and fields through the crosswalk."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Vocabulary:
    """One field of one dataset, such as CSET v1's "Autonomy Level" in the AI Incident
    Database. `key` names it everywhere (records, crosswalk files, URLs)."""

    key: str
    dataset: str
    field: str
    label: str
    multiple: str = ""  # how the source separates several values, in words; "" if one value
