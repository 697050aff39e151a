"""The `schuldenlab` command line (SPEC §2)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import traceback

from schuldenlab.services import SERVICES
from servicekit.auth import ROLES, issue_token
from servicekit.config import ConfigError, Settings

# How a configuration error starts its line; `up` finds a service's own such line in the service's log.
CONFIGURATION_ERROR = "configuration error: "


def _up(args: argparse.Namespace, settings: Settings) -> int:
    from schuldenlab.platform import up

    return up(settings)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from schuldenlab.services import load_definition
    from schuldenlab.state import signing_key
    from servicekit.db import check_database
    from servicekit.kafka import check_connection
    from servicekit.runner import listening_socket, serve
    from servicekit.service import create_app
    from servicekit.tracing import configure as configure_tracing

    # Before anything starts: a wrong Kafka or database setting, a state directory that cannot keep the
    # signing key, a taken port are each one line naming the setting (main prints it), not a traceback.
    own = settings.for_service(args.service)
    asyncio.run(check_connection(own))
    asyncio.run(check_database(own, refuse_superuser=True))
    signing_key(settings)
    listener = listening_socket(settings, args.service)
    configure_tracing(args.service, os.environ)  # exports only when the standard OTEL_* variables say where
    app = create_app(load_definition(args.service), settings)
    serve(app, listener, log_level=settings.log_level)
    return 0


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from schuldenlab.infrastructure import check_configured_databases, embedded_database
    from schuldenlab.migrations import migrate_services

    services = (args.service,) if args.service else SERVICES
    asyncio.run(check_configured_databases(settings, services))
    with embedded_database(settings) as (database_url, _):
        applied = asyncio.run(migrate_services(settings, database_url, services, generate_roles=False))
    print("\n".join(applied) if applied else "nothing to migrate: every schema is up to date")
    return 0


# Reviews, set-up steps and subscriptions are recorded per holder: a token for these roles must say
# whose it is, or every holder of the role would share one identity (and one set of subscriptions).
PERSONAL_ROLES = ("board", "assessor", "lab", "integrator")


def _token(args: argparse.Namespace, settings: Settings) -> int:
    if args.role in PERSONAL_ROLES and not args.subject:
        print(f"a {args.role} token acts for one holder (what it does is recorded per holder): "
              "pass --subject NAME", file=sys.stderr)
        return 2
    # A token cannot be revoked before it expires, so how long it may live is bounded (and configurable).
    if not 0 < args.ttl <= settings.token_max_ttl:
        print(f"--ttl {args.ttl}: a token lives from 1 to {settings.token_max_ttl} seconds "
              "(the most SCHULDENLAB_TOKEN_MAX_TTL allows)", file=sys.stderr)
        return 2
    print(issue_token(settings.signing_key(create=True), role=args.role, subject=args.subject, ttl_seconds=args.ttl))
    return 0


def _topics(args: argparse.Namespace, settings: Settings) -> int:
    from schuldenlab.embedded.topics import ensure_topics
    from schuldenlab.infrastructure import platform_topics
    from schuldenlab.state import with_running_platform
    from servicekit.kafka import client_options

    settings = with_running_platform(settings)
    created = asyncio.run(ensure_topics(client_options(settings), platform_topics(args.partitions),
                                        replication_factor=args.replication_factor))
    print("\n".join(f"created {name}" for name in created) or "every topic exists already")
    return 0


def _acls(args: argparse.Namespace, settings: Settings) -> int:
    from schuldenlab import acls
    from schuldenlab.state import with_running_platform

    accesses = acls.platform_access(SERVICES, acls.consumed_topics(SERVICES))
    if not args.apply:
        print(acls.kafka_acls_commands(accesses, principal_prefix=args.principal_prefix), end="")
        return 0
    wanted = [acl for access in accesses for acl in acls.required_acls(access, principal_prefix=args.principal_prefix)]
    try:
        count = asyncio.run(acls.apply_acls(with_running_platform(settings), wanted))
    except acls.AclError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{count} ACLs in place for {len(accesses)} service principals")
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from schuldenlab.demo import run_demo

    return run_demo(settings)


def _events(args: argparse.Namespace, settings: Settings) -> int:
    from schuldenlab.operations import follow_events

    return asyncio.run(follow_events(settings, topics=args.topic, from_beginning=args.from_beginning))


def _dlq(args: argparse.Namespace, settings: Settings) -> int:
    from schuldenlab.operations import Selection, list_dead_letters, replay_dead_letters

    if args.from_offset is not None and args.to_offset is not None and args.from_offset > args.to_offset:
        print(f"--from-offset {args.from_offset} is past --to-offset {args.to_offset}: nothing to select",
              file=sys.stderr)
        return 2
    selection = Selection(args.from_offset, args.to_offset, tuple(args.error_type or ()))
    if args.action == "replay":
        return asyncio.run(replay_dead_letters(settings, args.service, selection, dry_run=args.dry_run))
    return asyncio.run(list_dead_letters(settings, args.service, selection))


def _status(args: argparse.Namespace, settings: Settings) -> int:
    from schuldenlab.status import status

    return status(settings, watch=args.watch, json_output=args.json)


def _secrets(args: argparse.Namespace, settings: Settings) -> int:
    from servicekit.secrets import new_key

    if args.action == "new-key":
        print(new_key())
        return 0
    from notifications.adapters.secrets import NotMigrated, reencrypt_stored_secrets
    from schuldenlab.state import with_running_platform

    own = with_running_platform(settings.for_service("notifications"))
    try:
        done = asyncio.run(reencrypt_stored_secrets(own.require_database_url(), own.secrets_key_ring()))
    except NotMigrated as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"re-encrypted the webhook secrets of {done.moved} subscriptions with the newest key "
          f"({done.current} used it already)")
    if done.undecryptable:
        print(f"{done.undecryptable} subscriptions have a secret no configured key decrypts: left as they were "
              "(their deliveries are held); configure the key they were encrypted with and run this again",
              file=sys.stderr)
        return 1
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="schuldenlab", description="The SchuldenlabNL platform.")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="run the whole platform on this machine").set_defaults(func=_up)
    run = sub.add_parser("run", help="run one service in the foreground")
    run.add_argument("service", choices=SERVICES)
    run.set_defaults(func=_run)
    mig = sub.add_parser("migrate", help="apply database migrations")
    mig.add_argument("service", nargs="?", choices=SERVICES)
    mig.set_defaults(func=_migrate)
    tok = sub.add_parser("token", help="print a signed access token")
    tok.add_argument("--role", required=True, choices=ROLES)
    tok.add_argument("--subject", default=None,
                     help="who the token is for (required except for operator)")
    tok.add_argument("--ttl", type=int, default=3600,
                     help="seconds until it expires (default 3600; at most SCHULDENLAB_TOKEN_MAX_TTL, 30 days)")
    tok.set_defaults(func=_token)
    top = sub.add_parser("topics", help="create the platform's topics on the configured Kafka (idempotent)")
    top.add_argument("--partitions", type=int, default=6)
    top.add_argument("--replication-factor", type=int, default=None,
                     help="replicas per partition (default: 3, or the number of brokers if fewer)")
    top.set_defaults(func=_topics)
    acl = sub.add_parser("acls", help="print (or --apply) the Kafka ACLs each service's principal needs")
    acl.add_argument("--apply", action="store_true",
                     help="add them on the configured cluster, as the user of SCHULDENLAB_KAFKA_SASL_USERNAME")
    acl.add_argument("--principal-prefix", default="",
                     help="prefix of the services' user names, e.g. 'schuldenlab-' for User:schuldenlab-catalogue")
    acl.set_defaults(func=_acls)
    sub.add_parser("demo", help="walk the known proven projects through a running platform").set_defaults(func=_demo)
    ev = sub.add_parser("events", help="follow the platform's events as they are published")
    ev.add_argument("--topic", action="append", help="only this topic (repeatable)")
    ev.add_argument("--from-beginning", action="store_true", help="start at the oldest retained event")
    ev.set_defaults(func=_events)
    dlq = sub.add_parser("dlq", help="inspect a service's dead letters, or replay them to that service alone")
    actions = dlq.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="show the dead letters, their errors and whether they were replayed")
    replay = actions.add_parser("replay", help="send the dead letters not replayed before to the service's retry "
                                "topic, which only that service reads")
    for action in (listing, replay):
        action.add_argument("service", choices=SERVICES)
        action.add_argument("--from-offset", type=_offset, metavar="N", help="from this dead letter on (#N in list)")
        action.add_argument("--to-offset", type=_offset, metavar="N", help="up to and including this dead letter")
        action.add_argument("--error-type", action="append", metavar="TYPE",
                            help="only dead letters with this dlq_error_type, e.g. ContractViolation (repeatable)")
        action.set_defaults(func=_dlq)
    replay.add_argument("--dry-run", action="store_true", help="show what would be replayed; send nothing")
    st = sub.add_parser("status", help="a running platform's readiness, outbox, consumer lag, dead letters and "
                        "webhooks; exit 1 when something is unhealthy")
    st.add_argument("--watch", action="store_true", help="redraw every 2 s until Ctrl-C")
    st.add_argument("--json", action="store_true", help="one JSON object (per refresh) instead of the screen")
    st.set_defaults(func=_status)
    sec = sub.add_parser("secrets", help="the key of the webhook secrets at rest: new key, re-encrypt after rotation")
    sec_actions = sec.add_subparsers(dest="action", required=True)
    sec_actions.add_parser("new-key", help="print a fresh key for SCHULDENLAB_SECRETS_KEY")
    sec_actions.add_parser("reencrypt", help="re-encrypt every stored webhook secret with the newest key of "
                           "SCHULDENLAB_SECRETS_KEY (idempotent)")
    sec.set_defaults(func=_secrets)
    return p


def _offset(text: str) -> int:
    offset = int(text)
    if offset < 0:
        raise argparse.ArgumentTypeError(f"{text}: an offset is 0 or more")
    return offset


def main(argv: list[str] | None = None) -> None:
    from schuldenlab.state import PlatformNotRunning

    args = parser().parse_args(argv)
    # Read here, not from the settings: they may be what failed.
    debug = (os.environ.get("SCHULDENLAB_LOG_LEVEL") or "").upper() == "DEBUG"
    try:
        settings = Settings.from_env()
        code = args.func(args, settings)
    except ConfigError as exc:
        code = _fail(f"{CONFIGURATION_ERROR}{exc}", 2, debug=debug)
    except PlatformNotRunning as exc:
        code = _fail(str(exc), 1, debug=debug)
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:
        code = _fail(f"schuldenlab {args.command} failed: {type(exc).__name__}: {_scrubbed(str(exc))} "
                     "(SCHULDENLAB_LOG_LEVEL=DEBUG shows where)", 1, debug=debug)
    sys.exit(code)


def _fail(line: str, code: int, *, debug: bool) -> int:
    """One line to stderr (the traceback before it only with SCHULDENLAB_LOG_LEVEL=DEBUG); the exit code."""
    from servicekit.loglines import one_line

    if debug:
        traceback.print_exc()
    print(one_line(line, limit=2000), file=sys.stderr, flush=True)
    return code


def _scrubbed(text: str) -> str:
    """`text` without any secret the environment holds: an unexpected error's message is not checked for them."""
    from servicekit.db import url_password

    secrets = [value for name, value in os.environ.items() if name.startswith("SCHULDENLAB_") and value
               and name.endswith(("_PASSWORD", "_SECRET", "_KEY"))]
    secrets += [url_password(value) or "" for name, value in os.environ.items()
                if name.startswith("SCHULDENLAB_") and name.endswith("DATABASE_URL")]
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
