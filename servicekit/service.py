"""A service process: its definition, the runtime that wires pool, broker, relay and consumer, and its app."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import asyncpg
from fastapi import APIRouter, Depends, FastAPI, Request

from servicekit import db, retention
from servicekit.access import AccessLog
from servicekit.bodylimit import BodyLimit, max_body_bytes
from servicekit.broker import ConsumerBatching, Publishers, bind_consumer, create_broker
from servicekit.config import Settings
from servicekit.consumer import EventConsumer
from servicekit.idempotency import install_idempotency_keys
from servicekit.inputs import refuse_unstorable_text
from servicekit.migrate import load_migrations, migrate, runtime_migrations
from servicekit.openapi import install_openapi
from servicekit.outbox import OutboxRelay
from servicekit.problems import UnexpectedErrors, install_problem_handlers
from servicekit.records import BatchHandler, EventHandler, ReceivedRecord, topics_for
from servicekit.uow import UnitOfWork, transaction

log = logging.getLogger(__name__)

# A service process stops within 10 s, whatever hangs (issue 11): uvicorn gives requests in flight
# runner.REQUESTS_STOP_SECONDS, then the runtime's stop gets STOP_BUDGET for all of its parts.
STOP_BUDGET = 6.0
# Of which the background tasks (the relay's last pass above all) may take this much.
STOP_TIMEOUT = 4.0
# Seconds each readiness check may take: load balancers give up on a probe after a few seconds.
READINESS_TIMEOUT = 2.0


@dataclass(frozen=True)
class ServiceDefinition:
    """What a service brings; everything else is the same for all four services."""

    name: str
    description: str
    migrations_package: str
    uow_factory: Callable[[asyncpg.Connection], UnitOfWork]
    routers: Sequence[APIRouter] = ()
    handlers: Mapping[str, EventHandler] = field(default_factory=dict)
    # Optional, per event type that has a handler: applies a run of its events at once (servicekit.consumer).
    batch_handlers: Mapping[str, BatchHandler] = field(default_factory=dict)
    error_statuses: Mapping[type[Exception], int] = field(default_factory=dict)
    background: Sequence[Callable[[ServiceRuntime], Awaitable[None]]] = ()
    # Reads the service's own settings once at start, raising ConfigError (one line naming the variable)
    # on a bad one, so a mistake stops the service instead of failing its first request or worker.
    check_settings: Callable[[Settings], object] | None = None
    # Rows of the service's own tables let go of once old (servicekit.retention), besides the outbox and inbox.
    purges: Sequence[retention.Purge] = ()
    # PostgreSQL extensions its migrations use: the administrator installs them (`schuldenlab migrate`, `up`)
    # before the service's own role migrates, since that role may not.
    extensions: Sequence[str] = ()
    version: str = "1.0.0"


class ServiceRuntime:
    """The I/O of one service process: pool, broker, publishers, outbox relay and event consumer."""

    def __init__(self, definition: ServiceDefinition, settings: Settings) -> None:
        self.definition = definition
        # Its own Kafka principal and database URL, where SCHULDENLAB_<SERVICE>_... give them.
        self.settings = settings = settings.for_service(definition.name)
        if definition.check_settings is not None:
            definition.check_settings(settings)
        # Read now for the same reason: a bad retention setting stops the service here, in one line naming it.
        self.retention = retention.plan(settings, definition.name, definition.purges)
        self.schema = definition.name
        self.dsn = settings.require_database_url()
        self.database_limits = db.DatabaseLimits.from_settings(settings)
        self.broker = create_broker(settings, definition.name)
        self.publishers = Publishers(self.broker, definition.name)
        # Bound now so AsyncAPI documents it; the consumer itself needs the pool, made in start().
        bind_consumer(self.broker, definition.name, topics_for(definition.handlers), self._handle,
                      session_timeout_ms=settings.kafka_session_timeout_ms,
                      fetch_max_wait_ms=settings.kafka_fetch_max_wait_ms,
                      batching=ConsumerBatching.from_settings(settings))
        self._pool: asyncpg.Pool | None = None
        self._consumer: EventConsumer | None = None
        self._relay: OutboxRelay | None = None
        self._relay_task: asyncio.Task | None = None
        self._tasks: list[asyncio.Task] = []

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError(f"{self.schema}: the runtime has not started")
        return self._pool

    async def _handle(self, records: Sequence[ReceivedRecord]) -> object:
        if self._consumer is None:
            raise RuntimeError(f"{self.schema}: a message arrived before the runtime started")
        return await self._consumer.handle_batch(records)

    def transaction(self, *, single_statement: bool = False):
        """`async with runtime.transaction() as uow:` commits on success, rolls back on error; `single_statement`
        for a read of one statement, without BEGIN and COMMIT (servicekit.db.transaction)."""
        return transaction(self.pool, self.definition.uow_factory, single_statement=single_statement)

    async def migrate(self) -> list[str]:
        return await apply_migrations(self.dsn, self.definition)

    async def start(self) -> None:
        if self.settings.migrate_on_start:
            await self.migrate()
        self._pool = await db.create_pool(self.dsn, self.schema, limits=self.database_limits)
        self._consumer = EventConsumer(
            service=self.schema, pool=self._pool, uow_factory=self.definition.uow_factory,
            handlers=self.definition.handlers, batch_handlers=self.definition.batch_handlers,
            dead_letter=self.publishers.publish_dead_letter,
            max_attempts=self.settings.consumer_max_attempts,
            backoff_initial=self.settings.consumer_backoff_initial, backoff_max=self.settings.consumer_backoff_max,
        )
        self._relay = OutboxRelay(self._pool, self.publishers.publish_record, schema=self.schema,
                                  poll_interval=self.settings.outbox_poll_interval, dsn=self.dsn)
        await self.broker.start()
        self._relay_task = self._spawn(self._relay.run(), "outbox-relay")
        self._spawn(retention.RetentionJob(self._pool, self.schema, self.retention).run(), "retention")
        for job in self.definition.background:
            self._spawn(job(self), job.__name__)

    def _spawn(self, coroutine, name: str) -> asyncio.Task:
        task = asyncio.create_task(coroutine, name=f"{self.schema}-{name}")
        task.add_done_callback(_report_death)
        self._tasks.append(task)
        return task

    async def stop(self) -> None:
        """Stop within STOP_BUDGET even when the broker or the database does not answer.

        Whatever is cut short is safe to cut: the relay publishes what it did not get out at the next
        start, an offset not committed brings its record again, and the database rolls back what an
        unfinished transaction did.
        """
        deadline = asyncio.get_running_loop().time() + STOP_BUDGET
        # The relay is asked to finish (its last pass publishes what committed); other jobs are cancelled.
        if self._relay is not None:
            self._relay.stop()
        for task in self._tasks:
            if task is not self._relay_task:
                task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=STOP_TIMEOUT)
            for task in stuck:
                log.error("%s did not stop within %s s; leaving it behind", task.get_name(), STOP_TIMEOUT)
                task.cancel()
        self._tasks.clear()
        try:
            async with asyncio.timeout_at(deadline - 1.0):
                await self.broker.stop()  # commits offsets and leaves the group: waits on the broker
        except TimeoutError:
            log.error("%s: the broker did not answer while stopping; left without a goodbye", self.schema)
        if self._pool is not None:
            try:
                async with asyncio.timeout_at(deadline):
                    await self._pool.close()  # waits for connections still in use
            except TimeoutError:
                log.error("%s: database connections still in use while stopping; closing them", self.schema)
                self._pool.terminate()
            self._pool = None

    async def readiness(self) -> dict[str, str]:
        # Both at once, each bounded, so a probe gets its answer within READINESS_TIMEOUT whatever hangs.
        database, broker = await asyncio.gather(self._database_check(), self._broker_check())
        return {"database": database, "broker": broker}

    async def _database_check(self) -> str:
        why = await db.probe(self.pool, READINESS_TIMEOUT)
        return "ok" if why is None else f"failing: {why}"

    async def _broker_check(self) -> str:
        try:
            return "ok" if await self.broker.ping(timeout=READINESS_TIMEOUT) else "failing: no answer"
        except Exception as exc:
            return f"failing: {type(exc).__name__}: {exc}"


def _report_death(task: asyncio.Task) -> None:
    # A background loop that ends by itself is a bug worth shouting about, not a silent stop.
    if not task.cancelled() and task.exception() is not None:
        log.error("background task %s died", task.get_name(), exc_info=task.exception())


async def apply_migrations(dsn: str, definition: ServiceDefinition) -> list[str]:
    migrations = runtime_migrations() + load_migrations(definition.name, definition.migrations_package)
    conn = await asyncpg.connect(dsn)
    try:
        return await migrate(conn, definition.name, migrations)
    finally:
        await conn.close()


def get_runtime(request: Request) -> ServiceRuntime:
    return request.app.state.runtime


def create_app(definition: ServiceDefinition, settings: Settings) -> FastAPI:
    """The HTTP app of a service; its lifespan starts and stops the runtime."""
    from servicekit.http import operational_router  # late: http imports get_runtime from here

    runtime = ServiceRuntime(definition, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title=f"SchuldenlabNL {definition.name}",
        description=definition.description,
        version=definition.version,
        lifespan=lifespan,
        # First of every route's dependencies, so text the database cannot store is refused before
        # any route (or its authentication) sees it.
        dependencies=[Depends(refuse_unstorable_text)],
    )
    app.state.runtime = runtime
    app.state.signing_key = settings.signing_key(create=True)
    install_problem_handlers(app, definition.error_statuses)
    # Each add_middleware wraps what was added before, so UnexpectedErrors is the outermost of the request
    # guards: an error anywhere, the body limit's included, still answers a problem. They run before routing,
    # so the body limit holds before authentication and before any parsing.
    install_idempotency_keys(app, runtime)  # innermost of the three: the body limit holds before it reads a body
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes(runtime.settings, definition.name))
    app.add_middleware(UnexpectedErrors)
    # Around even UnexpectedErrors: the access log and HTTP metrics see the status actually sent (that
    # middleware's 500 included), and the request id is bound for every line logged inside, its error line
    # too. It only observes and raises nothing of its own, so being outside UnexpectedErrors costs nothing:
    # whatever the app raises still becomes a problem inside it.
    app.add_middleware(AccessLog, service=definition.name)
    app.include_router(operational_router(definition, runtime))
    for router in definition.routers:
        app.include_router(router)
    install_openapi(app)
    return app
