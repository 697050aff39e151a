"""The Dutch words the website shows for the platform's codes (phases, partner kinds, availability, ...)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# The seven phases of debt assistance, in their order (DOMAIN.md), with SchuldenlabNL's own names.
PHASES: dict[str, tuple[str, str]] = {
    "awareness": ("Bewustwording", "Vroegsignalering en preventie"),
    "intake": ("Kennismaking", "Intake en gegevensuitwisseling"),
    "referral": ("Verwijzing", "Informatie en advies"),
    "stabilisation": ("Op orde komen", "De schuldsituatie stabiliseren"),
    "planning": ("Plan maken", "Een traject kiezen"),
    "debt_reduction": ("Schuld afbouwen", "Het hulpverleningstraject"),
    "aftercare": ("Vinger aan de pols", "Nazorg: terugval voorkomen"),
}

PARTNER_KINDS = {"public": "Publiek", "private": "Privaat", "societal": "Maatschappelijk"}

AVAILABILITY = {
    "immediate": "Direct beschikbaar",
    "small_effort": "Met een kleine inspanning beschikbaar te maken",
    "not_yet": "Nog niet beschikbaar",
}

# SPEC 5.2: how strong the evidence is that a project works.
EVIDENCE_LEVELS = {
    "practice_based": "Werkt in de praktijk",
    "evaluated": "Geëvalueerd",
    "effective": "Effectief gebleken in vergelijkend onderzoek",
}

RATING_STATUS = {"current": "geldig", "reassessment_due": "wordt opnieuw beoordeeld", "expired": "verlopen"}

# SPEC 5.3: the implementation-science stages of adopting a project.
STAGES = {
    "exploration": "Verkenning",
    "installation": "Voorbereiding",
    "initial_implementation": "Eerste invoering",
    "full_implementation": "Volledige invoering",
    "sustainment": "Geborgd in het reguliere werk",
}

# SPEC 5.3: outcomes pooled over every implementation that reported, as the catalogue record names them.
OUTCOMES = {
    "sites_reporting": "Schuldenlabs die meten",
    "households_reached": "Huishoudens bereikt",
    "households_stabilised": "Huishoudens met een stabiele schuldsituatie",
    "households_debt_free": "Huishoudens schuldenvrij",
    "cost_per_debt_free_household_eur": "Kosten per schuldenvrij huishouden (mediaan, euro)",
    "benefit_per_euro": "Maatschappelijke opbrengst per euro (mediaan)",
}


def phase(code: str) -> str:
    return PHASES.get(code, (code, ""))[0]


def label(table: dict[str, str], code: object) -> str:
    """The Dutch word for a code, or the code itself for one added after this list."""
    return table.get(str(code), str(code))


def date(value: object) -> str:
    """An ISO date-time as a Dutch date (1 december 2026); anything else as it is."""
    text = str(value or "")
    months = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
              "oktober", "november", "december")
    try:
        year, month, day = int(text[0:4]), int(text[5:7]), int(text[8:10])
        return f"{day} {months[month - 1]} {year}"
    except (ValueError, IndexError):
        return text


def number(value: object) -> str:
    """A whole number the Dutch way (12.500), a fraction with a comma (1,8)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return f"{int(value):,}".replace(",", ".")


def projects(count: int) -> str:
    return "1 project" if count == 1 else f"{number(count)} projecten"


def outcomes(record: dict) -> list[tuple[str, object]]:
    """The pooled outcomes a catalogue record carries (SPEC 5.3), named in Dutch; none before any were measured."""
    pooled = record.get("outcomes")
    if not isinstance(pooled, dict):
        return []
    return [(OUTCOMES[key], _shown(key, pooled[key])) for key in OUTCOMES if pooled.get(key) is not None]


# Exact decimals travel as strings ("2341.46"); shown the Dutch way with the places a reader needs.
_DECIMAL_PLACES = {"cost_per_debt_free_household_eur": 2, "benefit_per_euro": 2}


def _shown(key: str, value: object) -> object:
    places = _DECIMAL_PLACES.get(key)
    if places is None or not isinstance(value, str):
        return value
    try:
        amount = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return value
    whole, _, fraction = f"{amount:.{places}f}".partition(".")
    return f"{number(int(whole))},{fraction}"
