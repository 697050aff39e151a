"""The known proven projects of DOMAIN.md, as dossiers a submitter would send."""

from __future__ import annotations

_CONTACT = {"name": "Demo Indiener", "email": "demo@schuldenlab.example"}

KNOWN_PROJECTS: list[dict] = [
    {
        "name": "Jongeren Perspectief Fonds",
        "summary": "Young people aged 18-27 have their debts settled in exchange for a social internship "
                   "and a plan towards school or work.",
        "problem": "Young people with problematic debts cannot start school or work while creditors chase them; "
                   "debts grow and block their future.",
        "target_group": "Young people aged 18 to 27 with problematic debts",
        "phases": ["debt_reduction", "aftercare"],
        "themes": ["jongeren", "perspectief", "werk en school"],
        "origin": {"organisation": "Schuldenlab070", "municipality": "Den Haag"},
        "partners": [{"name": "Gemeente Den Haag", "kind": "public"},
                     {"name": "Stichting Schuldenlab070", "kind": "societal"},
                     {"name": "Achmea", "kind": "private"}],
        "in_production": True,
        "clients_served": 53,
        "results": "Pilot since 2016: all 53 young people in the pilot became debt-free. Also running in Almere, "
                   "Eindhoven and Emmen.",
        "evidence_urls": ["https://www.schuldenlab070.nl/jongeren-perspectief-fonds"],
        "continuity_model": "Fund financed jointly by the municipality and private partners; municipalities "
                            "take over the fund in regular operations.",
        "availability": "immediate",
        "contact": _CONTACT,
    },
    {
        "name": "Collectief Schuldregelen",
        "summary": "Collective agreements with more than 30 creditor organisations shorten the lead time of "
                   "debt settlement files for people with many creditors.",
        "problem": "People with many creditors wait months while each creditor is negotiated with separately.",
        "target_group": "People with problematic debts at many creditors",
        "phases": ["planning", "debt_reduction"],
        "themes": ["schuldregeling", "schuldeisers"],
        "origin": {"organisation": "Schuldenlab070", "municipality": "Den Haag"},
        "partners": [{"name": "Belastingdienst", "kind": "public"},
                     {"name": "Woningcorporaties", "kind": "private"},
                     {"name": "Zorgverzekeraars", "kind": "private"},
                     {"name": "NVVK", "kind": "societal"}],
        "in_production": True,
        "clients_served": 2500,
        "results": "Adopted by Amsterdam, 's-Hertogenbosch, Almelo, Eindhoven, Hollandse Kroon and Leiden; "
                   "much shorter lead times for debt files.",
        "evidence_urls": ["https://www.schuldenlabnl.nl/projecten/collectief-schuldregelen"],
        "continuity_model": "Agreements held by the creditors' collective and run by municipal debt assistance.",
        "availability": "immediate",
        "contact": _CONTACT,
    },
    {
        "name": "Nederlandse Schuldhulproute",
        "summary": "Early signalling of payment arrears leads people to help in their own area before debts "
                   "become problematic.",
        "problem": "People with payment arrears find help late, when debts have already piled up.",
        "target_group": "People with payment arrears",
        "phases": ["awareness", "referral"],
        "themes": ["preventie", "vroegsignalering"],
        "origin": {"organisation": "Nederlandse Schuldhulproute", "municipality": "Utrecht"},
        "partners": [{"name": "Gemeenten", "kind": "public"},
                     {"name": "Energieleveranciers", "kind": "private"},
                     {"name": "Banken", "kind": "private"}],
        "in_production": True,
        "clients_served": 6000,
        "results": "About 6,000 people found help in their own area through the route.",
        "evidence_urls": ["https://www.schuldhulproute.nl"],
        "continuity_model": "Foundation financed by participating municipalities and private partners.",
        "availability": "immediate",
        "contact": _CONTACT,
    },
    {
        "name": "Doorbraakmethode",
        "summary": "Tailored help for multi-problem families combining cure and care, with about 20% lower "
                   "social costs.",
        "problem": "Families with problems on many fronts get help from many agencies that do not connect.",
        "target_group": "Multi-problem families",
        "phases": ["stabilisation", "planning"],
        "themes": ["multiprobleem", "maatwerk"],
        "origin": {"organisation": "Stichting Doorbraak", "municipality": "Almelo"},
        "partners": [{"name": "Gemeente Almelo", "kind": "public"},
                     {"name": "Zorgverzekeraar Menzis", "kind": "private"},
                     {"name": "Stichting Doorbraak", "kind": "societal"}],
        "in_production": True,
        "clients_served": 400,
        "results": "Tailored help and about 20% lower social costs per family.",
        "evidence_urls": ["https://www.doorbraakmethode.nl"],
        "continuity_model": "Municipalities contract the method; health insurers share in the savings.",
        "availability": "small_effort",
        "contact": _CONTACT,
    },
]
