"""Where a piece of knowledge comes from and how sure we are of it.

Every rule and every device profile carries at least one `Provenance`. The claim is always in our own words; the
confidence says what kind of evidence stands behind it, so a newcomer can tell a paper's finding from a rule of
thumb or from something we measured ourselves.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Confidence = Literal["paper", "practitioner_heuristic", "vendor_doc", "own_measurement"]

CONFIDENCE_WORDS: dict[str, str] = {
    "paper": "from a published study",
    "practitioner_heuristic": "a practitioners' rule of thumb",
    "vendor_doc": "from a vendor's documentation",
    "own_measurement": "measured by Shrinkwise",
}


class Provenance(BaseModel):
    """One source behind a rule or a device profile."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(min_length=3, description="Paper, document or measurement, by name")
    section: str = Field(default="", description="Where in the source (section, figure, table); say when unconfirmed")
    url: str | None = None
    claim: str = Field(min_length=10, description="What the source supports, in our own words")
    lesson: str | None = Field(default=None, pattern=r"^L-[A-Z]+-\d\d$", description="Lesson ID in rules/lessons.yaml")
    confidence: Confidence
    note: str = Field(default="", description="Caveats, e.g. 'threshold chosen by the advisor, not the paper'")

    @model_validator(mode="after")
    def _url_for_published(self) -> Provenance:
        if self.confidence in ("paper", "vendor_doc") and not self.url:
            raise ValueError(f"a {self.confidence} source needs a url")
        return self

    def label(self) -> str:
        """'Source, section — how sure' for one-line display."""
        where = f", {self.section}" if self.section else ""
        return f"{self.source}{where} — {CONFIDENCE_WORDS[self.confidence]}"
