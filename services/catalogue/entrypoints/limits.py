"""The catalogue's rate limits: public submissions per client address, for the JSON API and the website alike."""

from __future__ import annotations

from servicekit.ratelimit import Limit

# SCHULDENLAB_CATALOGUE_SUBMISSIONS_PER_HOUR. Twenty a client address an hour is far beyond what one organisation
# submits, and small enough that a flood of made-up dossiers stays a few rows for the board to dismiss.
SUBMISSIONS_LIMIT = Limit("submissions", default_per_hour=20)
