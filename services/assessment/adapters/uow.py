"""The assessment's unit of work on PostgreSQL."""

from __future__ import annotations

import asyncpg

from assessment.adapters.portfolio import PostgresPortfolioRepository
from assessment.adapters.ratings import PostgresRatingRepository
from assessment.adapters.repository import PostgresAssessmentRepository, PostgresWithdrawalRepository
from servicekit.uow import UnitOfWork


class PostgresAssessmentUnitOfWork(UnitOfWork):
    def __init__(self, conn: asyncpg.Connection) -> None:
        super().__init__(conn, schema="assessment")
        self.assessments = PostgresAssessmentRepository(conn)
        self.portfolio = PostgresPortfolioRepository(conn)
        self.withdrawals = PostgresWithdrawalRepository(conn)
        self.ratings = PostgresRatingRepository(conn)
