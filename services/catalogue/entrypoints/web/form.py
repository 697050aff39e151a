"""The submission form ("aanmelden") as data: reading the posted fields into the API's request body, and the
API model's validation errors as Dutch sentences next to the fields they are about.

No rule of its own: what is valid is what `ProjectSubmission` (the body of POST /v1/projects) accepts. The
form's field names are the body's dotted paths (`origin.municipality`, `partners.0.kind`), so an error's
location names its field directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from servicekit.inputs import unstorable

# Rows of repeatable fields shown at first, and at most (a submit button adds one row per press).
PARTNER_ROWS, EVIDENCE_ROWS, MAX_ROWS = 3, 2, 50
HONEYPOT = "website"  # hidden from people by the stylesheet; a bot filling every field fills it too
ADD_PARTNER, ADD_LINK, SUBMIT = "partner-erbij", "link-erbij", "versturen"

# Label and help text of each field, in the form's order (also the order of the error summary).
FIELDS: dict[str, tuple[str, str]] = {
    "name": ("Naam van het project", "Zoals het project in de praktijk heet."),
    "summary": ("Korte beschrijving", "Wat doet het project, in een paar zinnen?"),
    "problem": ("Welk probleem lost het op?", "Het vraagstuk waar mensen met schulden of hun hulpverleners "
                "tegenaan lopen."),
    "target_group": ("Doelgroep", "Voor wie is het project, bijvoorbeeld jongeren van 18 tot 27 jaar met schulden."),
    "phases": ("Fasen van de schuldhulp", "In welke van de zeven fasen helpt het project? Kies er één of meer."),
    "themes": ("Thema's", "Trefwoorden, gescheiden door komma's, bijvoorbeeld: jongeren, werk. Mag leeg blijven."),
    "origin.organisation": ("Organisatie", "De organisatie die het project uitvoert of heeft ontwikkeld."),
    "origin.municipality": ("Gemeente", "De gemeente waar het project in productie draait."),
    "origin.lab_id": ("Id van het lokale Schuldenlab (als een lab het heeft ontwikkeld)",
                      "Alleen invullen als een gevormd lokaal Schuldenlab het project heeft ontwikkeld; "
                      "SchuldenlabNL gaf het lab deze id. Anders leeg laten."),
    "partners": ("Partners", "De partijen die het project samen uitvoeren; ten minste één. Publiek: gemeente, "
                 "UWV, Belastingdienst. Privaat: woningcorporatie, energieleverancier, bank, zorgverzekeraar, "
                 "werkgever. Maatschappelijk: schuldhulporganisatie, stichting."),
    "in_production": ("Draait het project in de praktijk?", "Met echte klanten en echte gegevens."),
    "clients_served": ("Aantal geholpen mensen of huishoudens", "Een heel getal; 0 als het nog niemand heeft "
                       "geholpen."),
    "results": ("Resultaten", "Wat heeft het project opgeleverd? Noem cijfers als u die heeft."),
    "evidence_urls": ("Links naar onderbouwing", "Webadressen van evaluaties, rapporten of artikelen, die "
                      "beginnen met http:// of https://. Mag leeg blijven."),
    "continuity_model": ("Hoe blijft het project bestaan?", "Wie betaalt en draagt het project op de lange termijn, "
                         "ook als een subsidie stopt?"),
    "availability": ("Beschikbaarheid voor andere gemeenten", "Hoe snel kan een andere gemeente ermee beginnen?"),
    "contact.name": ("Uw naam", "Alleen SchuldenlabNL ziet uw naam en e-mailadres; ze worden nooit gepubliceerd."),
    "contact.email": ("Uw e-mailadres", "Hierop neemt SchuldenlabNL contact met u op over de beoordeling."),
}
_SCALARS = [name for name in FIELDS if name not in ("phases", "partners", "evidence_urls")]
_THOUSANDS = re.compile(r"\d{1,3}(\.\d{3})+")
_ROW = re.compile(r"^(partners)\.(\d{1,3})\.(name|kind)$|^(evidence_urls)\.(\d{1,3})$")


@dataclass
class Form:
    """What was posted (or an empty form), as the page shows it again."""

    values: dict[str, str] = field(default_factory=lambda: dict.fromkeys(_SCALARS, ""))
    phases: list[str] = field(default_factory=list)
    partners: list[dict[str, str]] = field(default_factory=lambda: [{"name": "", "kind": ""}] * PARTNER_ROWS)
    evidence_urls: list[str] = field(default_factory=lambda: [""] * EVIDENCE_ROWS)
    honeypot: str = ""
    action: str = SUBMIT


def read(pairs: list[tuple[str, str]]) -> Form:
    """The posted pairs as a form; unknown names are ignored, rows beyond MAX_ROWS too."""
    form = Form()
    partners: dict[int, dict[str, str]] = {}
    links: dict[int, str] = {}
    for name, value in pairs:
        if name in form.values:
            form.values[name] = value
        elif name == "phases":
            form.phases.append(value)
        elif name == HONEYPOT:
            form.honeypot = value
        elif name == "actie" and value in (ADD_PARTNER, ADD_LINK):
            form.action = value
        elif (row := _ROW.match(name)) is not None:
            if row.group(1) and int(row.group(2)) < MAX_ROWS:
                partners.setdefault(int(row.group(2)), {"name": "", "kind": ""})[row.group(3)] = value
            elif row.group(4) and int(row.group(5)) < MAX_ROWS:
                links[int(row.group(5))] = value
    form.partners = [partners.get(i, {"name": "", "kind": ""}) for i in range(max([*partners, -1]) + 1)]
    form.evidence_urls = [links.get(i, "") for i in range(max([*links, -1]) + 1)]
    # A row the person added but left empty stays on the page; the minimum number of rows is always shown.
    form.partners += [{"name": "", "kind": ""}] * (PARTNER_ROWS - len(form.partners))
    form.evidence_urls += [""] * (EVIDENCE_ROWS - len(form.evidence_urls))
    if form.action == ADD_PARTNER and len(form.partners) < MAX_ROWS:
        form.partners.append({"name": "", "kind": ""})
    if form.action == ADD_LINK and len(form.evidence_urls) < MAX_ROWS:
        form.evidence_urls.append("")
    return form


@dataclass(frozen=True)
class Body:
    """The request body of POST /v1/projects the form amounts to, and which form row each list item came from."""

    data: dict[str, Any]
    partner_rows: list[int]
    link_rows: list[int]


def body(form: Form) -> Body:
    """The form as the API's JSON body: empty rows and empty optional fields left out, numbers as numbers."""
    v = {name: value.strip() for name, value in form.values.items()}
    data: dict[str, Any] = {name: form.values[name] for name in ("name", "summary", "problem", "target_group",
                                                                  "results", "continuity_model")}
    data["phases"] = list(form.phases)
    data["themes"] = [theme.strip() for theme in v["themes"].split(",") if theme.strip()]
    data["origin"] = {"organisation": form.values["origin.organisation"],
                      "municipality": form.values["origin.municipality"]}
    if v["origin.lab_id"]:
        data["origin"]["lab_id"] = v["origin.lab_id"]
    partner_rows = [i for i, row in enumerate(form.partners) if row["name"].strip() or row["kind"]]
    data["partners"] = [{"name": form.partners[i]["name"], "kind": form.partners[i]["kind"]} for i in partner_rows]
    link_rows = [i for i, url in enumerate(form.evidence_urls) if url.strip()]
    data["evidence_urls"] = [form.evidence_urls[i].strip() for i in link_rows]
    if v["in_production"] in ("ja", "nee"):
        data["in_production"] = v["in_production"] == "ja"
    if v["clients_served"]:
        count = v["clients_served"]
        # 12.500 is how a Dutch reader writes 12500 (dots between groups of three only: "1.2" is no count). A
        # strict integer for the model, as JSON gives it; anything else stays text and gets the model's error.
        digits = count.replace(".", "") if _THOUSANDS.fullmatch(count) else count
        data["clients_served"] = int(digits) if digits.isascii() and digits.isdigit() and len(digits) < 12 else count
    if v["availability"]:
        data["availability"] = v["availability"]
    data["contact"] = {"name": form.values["contact.name"], "email": v["contact.email"]}
    return Body(data, partner_rows, link_rows)


def unstorable_fields(form: Form) -> dict[str, str]:
    """Fields holding text the database cannot store (the runtime's rule for JSON bodies, here for the form)."""
    found: dict[str, str] = {}
    named = [*form.values.items(), *(("phases", p) for p in form.phases)]
    named += [(f"partners.{i}.{key}", row[key]) for i, row in enumerate(form.partners) for key in ("name", "kind")]
    named += [(f"evidence_urls.{i}", url) for i, url in enumerate(form.evidence_urls)]
    for name, value in named:
        if unstorable(value) and name not in found:
            found[name] = "Deze tekst bevat een teken dat niet kan worden opgeslagen (zoals het NUL-teken); " \
                          "haal het weg."
    return found


def field_name(loc: tuple[Any, ...], shaped: Body) -> str:
    """The form field a validation error's location (`("partners", 1, "name")`) is about."""
    parts = [p for p in loc if p != "body"]
    if not parts:
        return "name"
    head = str(parts[0])
    if head == "partners" and len(parts) >= 2 and isinstance(parts[1], int) and parts[1] < len(shaped.partner_rows):
        row = shaped.partner_rows[parts[1]]
        return f"partners.{row}.{parts[2]}" if len(parts) >= 3 else f"partners.{row}.name"
    if head == "evidence_urls" and len(parts) >= 2 and isinstance(parts[1], int) \
            and parts[1] < len(shaped.link_rows):
        return f"evidence_urls.{shaped.link_rows[parts[1]]}"
    if head in ("origin", "contact") and len(parts) >= 2:
        return f"{head}.{parts[1]}"
    return head if head in FIELDS else "name"


_MISSING = {
    "phases": "Kies ten minste één fase.",
    "partners": "Noem ten minste één partner: een naam en het soort partij.",
    "in_production": "Kies ja of nee.",
    "availability": "Kies hoe snel een andere gemeente het project kan invoeren.",
    "clients_served": "Vul een aantal in; 0 als het project nog niemand heeft geholpen.",
}


def reason(name: str, error: dict[str, Any]) -> str:
    """A validation error of the API model as a Dutch sentence for the person filling in the form."""
    kind, ctx, message = error.get("type", ""), error.get("ctx") or {}, str(error.get("msg", ""))
    base = name.split(".")[0]
    if kind == "missing" or (kind == "too_short" and base in _MISSING):
        return _MISSING.get(base, "Vul dit veld in.")
    if kind == "string_too_short":
        return "Vul dit veld in."
    if "must not be blank" in message:
        return "Vul dit veld in; alleen spaties telt niet."
    if kind == "string_too_long":
        return f"Gebruik hoogstens {ctx.get('max_length')} tekens."
    if kind == "too_long":
        return f"Hoogstens {ctx.get('max_length')}."
    if kind == "enum":
        return "Kies een van de mogelijkheden."
    if "URL" in message:
        return "Geef een webadres dat begint met http:// of https://, zonder spaties."
    if "e-mail" in message:
        return "Geef een e-mailadres, zoals naam@voorbeeld.nl."
    if "more than once" in message:
        return "Kies elke fase één keer."
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "Vul een heel getal in, zoals 120."
    if kind == "greater_than_equal":
        return "Vul 0 of meer in."
    if kind == "less_than_equal":
        return "Dit getal is te groot."
    if kind.startswith("bool"):
        return "Kies ja of nee."
    if kind.startswith("uuid"):
        return "Dit is geen id van een lab; laat het veld leeg als geen lokaal Schuldenlab het project ontwikkelde."
    return message


def errors_by_field(errors: list[dict[str, Any]], shaped: Body) -> dict[str, str]:
    """The model's errors per form field (the first one of each field)."""
    found: dict[str, str] = {}
    for error in errors:
        name = field_name(tuple(error.get("loc", ())), shaped)
        found.setdefault(name, reason(name, error))
    return found


def label_of(name: str) -> str:
    """The label of a field as the error summary names it (`Partner 2: soort`)."""
    parts = name.split(".")
    if name == HONEYPOT:
        return "Laat dit veld leeg"
    if parts[0] == "partners" and len(parts) == 3:
        return f"Partner {int(parts[1]) + 1}: {'naam' if parts[2] == 'name' else 'soort partij'}"
    if parts[0] == "evidence_urls" and len(parts) == 2:
        return f"Link {int(parts[1]) + 1}"
    return FIELDS.get(name, (name, ""))[0]


def in_form_order(errors: dict[str, str]) -> list[tuple[str, str]]:
    order = list(FIELDS)

    def position(name: str) -> tuple[int, int, int]:
        parts = name.split(".")
        head = name if name in FIELDS else parts[0]
        row = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else -1
        return (order.index(head) if head in order else len(order), row, parts[-1] == "kind")

    return sorted(errors.items(), key=lambda item: position(item[0]))


def element_id(name: str) -> str:
    """The HTML id of a field: its name with dashes (a fragment without dots), prefixed."""
    return "veld-" + name.replace(".", "-").replace("_", "-")


def anchor(name: str) -> str:
    """Where the error summary's link for a field goes: the field, or the first input of a group of rows."""
    return element_id({"partners": "partners.0.name", "evidence_urls": "evidence_urls.0"}.get(name, name))
