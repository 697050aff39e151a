"""The public website (SPEC 5.4): server-rendered pages in Dutch, another entrypoint of the catalogue service."""

from fastapi import APIRouter

from catalogue.entrypoints.web import pages, submission

# Pages, not API operations: left out of the OpenAPI document.
router = APIRouter(include_in_schema=False)
router.include_router(pages.router)
router.include_router(submission.router)
