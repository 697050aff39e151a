"""Fixtures shared by the contract tests."""

import pytest
from pydantic import BaseModel

from schuldenlab_contracts import ProjectSubmitted

from .samples import DOSSIER, WHEN, sample_payloads


@pytest.fixture
def samples() -> dict[type[BaseModel], BaseModel]:
    return sample_payloads()


@pytest.fixture
def submitted() -> ProjectSubmitted:
    return ProjectSubmitted(**DOSSIER, submitted_at=WHEN)
