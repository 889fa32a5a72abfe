"""`pathway` commands: migrate, serve, scheduler, scan, demo, user, api-key, pathway-version."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import random
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy.orm import Session

from api.server import serve
from pathway import access
from pathway.clock import utc_now
from pathway.definition import parse_definition
from pathway.errors import PathwayError
from pathway.runtime import Runtime
from pathway.settings import Settings, get_settings
from pathway.store.db import make_engine, make_sessionmaker, refresh_statistics, transaction
from pathway.store.tallies import episode_count
from pathway.store.users import user_exists, user_named
from pathway.store.versions import add_version
from pathway.synthetic.demo import make_demo
from pathway_cli import simulate
from pathway_cli.schema import alembic_config
from scheduler.delivery import DeliveryConfig, deliver_until_idle
from scheduler.jobs import reminders_tick
from scheduler.process import configure_logging, run_blocking


def migrate(settings: Settings) -> None:
    """Upgrade the database to the newest schema."""
    command.upgrade(alembic_config(settings.database_url), "head")
    engine = make_engine(settings.database_url)
    try:
        refresh_statistics(engine)
    finally:
        engine.dispose()


def _parse_time(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    migrate(settings)
    print("database is at the newest schema")
    return 0


def _runtime(settings: Settings, as_of: str | None) -> Runtime:
    runtime = Runtime.from_settings(settings)
    if as_of:
        fixed = _parse_time(as_of)
        runtime.clock = lambda: fixed
    return runtime


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    migrate(settings)
    serve(Runtime.from_settings(settings), embedded_scheduler=not args.no_scheduler)
    return 0


def cmd_scan(args: argparse.Namespace, settings: Settings) -> int:
    runtime = _runtime(settings, args.as_of)
    now = runtime.now()
    tick = reminders_tick(runtime, now=now)
    result = tick.scan
    print(f"scan as of {now.isoformat()}: examined={result.examined} raised={result.raised} "
          f"already_raised={result.already_raised}")
    print(f"snoozes ended={tick.woke} escalated={tick.escalation.escalated}")
    return 0


def cmd_scheduler(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings)
    run_blocking(Runtime.from_settings(settings))
    return 0


def cmd_deliver(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings)
    runtime = _runtime(settings, args.as_of)
    config = DeliveryConfig.from_settings(settings)
    result = deliver_until_idle(runtime, config, random.Random())
    print(f"deliver: leased={result.leased} delivered={result.delivered} "
          f"retrying={result.retrying} dead={result.dead} held={result.held} "
          f"deferred={result.deferred} skipped={result.skipped}")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    factory = make_sessionmaker(make_engine(settings.database_url))
    step = max(1, args.episodes // 20)
    def progress(done: int) -> None:
        if done % step == 0 or done == args.episodes:
            print(f"\r  demo episodes: {done}/{args.episodes}", end="", file=sys.stderr)
    with transaction(factory) as session:
        result = make_demo(session, episodes=args.episodes, now=utc_now(), zone=settings.zone,
                           seed=args.seed, progress=progress)
    print(file=sys.stderr)
    print(f"made {result.episodes} demo episodes: " + ", ".join(
        f"{k}={v}" for k, v in sorted(result.by_path.items())))
    return 0


def _accounts(settings: Settings) -> Any:
    return transaction(make_sessionmaker(make_engine(settings.database_url)))


def cmd_user_create(args: argparse.Namespace, settings: Settings) -> int:
    password = args.password or getpass.getpass("password: ")
    with _accounts(settings) as session:
        user = access.create_user(session, username=args.username, password=password,
                                  role=args.role, email=args.email,
                                  display_name=args.display_name, now=utc_now())
    print(f"user {user.username} created with role {user.role}")
    return 0


def cmd_user_password(args: argparse.Namespace, settings: Settings) -> int:
    password = args.password or getpass.getpass("new password: ")
    with _accounts(settings) as session:
        access.set_password(session, username=args.username, password=password, now=utc_now())
    print(f"password of {args.username} changed; their sessions have ended")
    return 0


def cmd_user_active(args: argparse.Namespace, settings: Settings) -> int:
    active = args.action == "activate"
    with _accounts(settings) as session:
        access.set_active(session, username=args.username, active=active, now=utc_now())
    done = "activated" if active else "deactivated; their sessions have ended"
    print(f"user {args.username} {done}")
    return 0


def cmd_user_list(args: argparse.Namespace, settings: Settings) -> int:
    with _accounts(settings) as session:
        for user in access.list_users(session):
            state = "active" if user.active else "inactive"
            print(f"{user.username}\t{user.role}\t{state}\t{user.display_name or ''}")
    return 0


def cmd_api_key_create(args: argparse.Namespace, settings: Settings) -> int:
    with _accounts(settings) as session:
        key, raw = access.create_api_key(session, name=args.name, role=args.role, now=utc_now(),
                                         expires_in_days=args.expires_in_days)
    _print_secret(key, raw)
    return 0


def _print_secret(key: Any, raw: str) -> None:
    until = f"expires {key.expires_at:%Y-%m-%d}" if key.expires_at else "never expires"
    print(f"api key {key.name} ({key.role}, {until}); store it now, it is not shown again:")
    print(raw)


def cmd_api_key_rotate(args: argparse.Namespace, settings: Settings) -> int:
    with _accounts(settings) as session:
        key, raw = access.rotate_api_key(session, name=args.name, now=utc_now(),
                                         expires_in_days=args.expires_in_days)
    _print_secret(key, raw)
    print(f"the old secret stays live until: pathway api-key revoke --name {key.name} "
          "--prefix <its prefix>", file=sys.stderr)
    return 0


def cmd_api_key_revoke(args: argparse.Namespace, settings: Settings) -> int:
    with _accounts(settings) as session:
        revoked = access.revoke_api_key(session, name=args.name, prefix=args.prefix,
                                        now=utc_now())
    print(f"api key {args.name} revoked: {', '.join(k.prefix for k in revoked)}")
    return 0


def cmd_api_key_list(args: argparse.Namespace, settings: Settings) -> int:
    now = utc_now()
    with _accounts(settings) as session:
        for key in access.list_api_keys(session):
            state = ("revoked" if key.revoked_at else
                     "expired" if key.expires_at and key.expires_at <= now else "live")
            used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never used"
            until = f"{key.expires_at:%Y-%m-%d}" if key.expires_at else "no expiry"
            print(f"{key.name}\t{key.prefix}\t{key.role}\t{state}\t{until}\t{used}")
    return 0


def cmd_version_add(args: argparse.Namespace, settings: Settings) -> int:
    definition = parse_definition(json.loads(Path(args.file).read_text()))
    factory = make_sessionmaker(make_engine(settings.database_url))
    with transaction(factory) as session:
        add_version(session, definition=definition, note=args.note, now=utc_now())
    print(f"pathway version {definition.version} stored; new episodes start on it")
    return 0


def random_password() -> str:
    """A password for the demo login."""
    return secrets.token_urlsafe(12)


DEMO_USER = "demo"
DEMO_ADMIN = "admin"
#: The demo's other coordinators (their episodes are in the demo data): users without a
#: printed password, so that assignment and the coordinator filter list real people.
DEMO_COLLEAGUES = ("alex", "sam", "jordan")


def _demo_login(session: Session, username: str, role: str, display_name: str,
                password: str) -> None:
    """Create a demo user, or give an existing one `role` and a new password."""
    if not user_exists(session, username):
        access.create_user(session, username=username, password=password, role=role,
                           display_name=display_name, now=utc_now())
        return
    access.set_password(session, username=username, password=password, now=utc_now())
    existing = user_named(session, username)
    if existing is not None and existing.role != role:
        access.set_role(session, username=username, role=role, now=utc_now())


def cmd_demo_setup(args: argparse.Namespace, settings: Settings) -> int:
    """Migrate, load demo episodes into an empty database, and (re)set the demo logins: a
    coordinator's and, labelled, the administrator's."""
    migrate(settings)
    factory = make_sessionmaker(make_engine(settings.database_url))
    coordinator, admin = random_password(), random_password()
    with transaction(factory) as session:
        if episode_count(session) == 0:
            print(f"loading {args.episodes} demo episodes (day 0 over the last 200 days)...")
            make_demo(session, episodes=args.episodes, now=utc_now(), zone=settings.zone)
        _demo_login(session, DEMO_USER, "coordinator", "Demo coordinator", coordinator)
        _demo_login(session, DEMO_ADMIN, "admin", "Demo administrator", admin)
        for name in DEMO_COLLEAGUES:
            if not user_exists(session, name):
                access.create_user(session, username=name, password=random_password(),
                                   role="coordinator", display_name=name.capitalize(),
                                   now=utc_now())
    print("")
    print(f"  Pathway is starting at http://{settings.host}:{settings.port}/")
    print(f"  Log in as a coordinator:   {DEMO_USER}   password: {coordinator}")
    print(f"  Administrator (users, keys, access log): {DEMO_ADMIN}   password: {admin}")
    print(f"  API docs:  http://{settings.host}:{settings.port}/docs")
    print("")
    return 0


def _add_service_commands(sub: Any) -> None:
    """migrate, serve, scan, scheduler, deliver: running the product."""
    sub.add_parser("migrate", help="upgrade the database schema").set_defaults(func=cmd_migrate)
    serve_cmd = sub.add_parser("serve", help="migrate, then serve the API and the dashboard")
    serve_cmd.add_argument("--no-scheduler", action="store_true",
                           help="do not run the scheduler's jobs in this process")
    serve_cmd.set_defaults(func=cmd_serve)
    scan = sub.add_parser("scan", help="run one scan for due reminders and print counts")
    scan.add_argument("--as-of", help="ISO time to scan as of (default: now)")
    scan.set_defaults(func=cmd_scan)
    sub.add_parser("scheduler", help="run the scan, escalation and delivery jobs until stopped"
                   ).set_defaults(func=cmd_scheduler)
    deliver = sub.add_parser("deliver", help="deliver the outbox until nothing is due, once")
    deliver.add_argument("--as-of", help="ISO time to deliver as of (default: now)")
    deliver.set_defaults(func=cmd_deliver)


def _add_demo_commands(sub: Any) -> None:
    """demo, demo-setup: synthetic episodes to look at."""
    demo = sub.add_parser("demo", help="add synthetic episodes over the last 200 days")
    demo.add_argument("--episodes", type=int, default=200)
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(func=cmd_demo)
    setup = sub.add_parser("demo-setup", help="migrate, load demo data if empty, print a login")
    setup.add_argument("--episodes", type=int, default=400)
    setup.set_defaults(func=cmd_demo_setup)


def _add_access_commands(sub: Any) -> None:
    """user and api-key: who may log in or call the API (each change is audited)."""
    user = sub.add_parser("user", help="manage dashboard users").add_subparsers(
        dest="action", required=True)
    create = user.add_parser("create", help="add a user")
    create.add_argument("username")
    create.add_argument("--role", default="coordinator")
    create.add_argument("--password", help="default: asked for on the terminal")
    create.add_argument("--email")
    create.add_argument("--display-name")
    create.set_defaults(func=cmd_user_create)
    password = user.add_parser("set-password", help="change a password (ends their sessions)")
    password.add_argument("username")
    password.add_argument("--password", help="default: asked for on the terminal")
    password.set_defaults(func=cmd_user_password)
    for verb, what in (("deactivate", "stop a user logging in (ends their sessions)"),
                       ("activate", "let a deactivated user log in again")):
        p = user.add_parser(verb, help=what)
        p.add_argument("username")
        p.set_defaults(func=cmd_user_active)
    user.add_parser("list", help="every user").set_defaults(func=cmd_user_list)
    keys = sub.add_parser("api-key", help="manage API keys").add_subparsers(
        dest="action", required=True)
    days = {"type": int, "default": None, "dest": "expires_in_days",
            "help": f"days until it expires (default {access.DEFAULT_KEY_DAYS}; 0: never)"}
    kc = keys.add_parser("create", help="create a key and print it once")
    kc.add_argument("--name", required=True)
    kc.add_argument("--role", required=True)
    kc.add_argument("--expires-in-days", **days)
    kc.set_defaults(func=cmd_api_key_create)
    ko = keys.add_parser("rotate", help="a new secret beside the live one, printed once")
    ko.add_argument("--name", required=True)
    ko.add_argument("--expires-in-days", **days)
    ko.set_defaults(func=cmd_api_key_rotate)
    kr = keys.add_parser("revoke", help="revoke a key's secrets (or one, by its prefix)")
    kr.add_argument("--name", required=True)
    kr.add_argument("--prefix", help="only the secret with this prefix (after a rotation)")
    kr.set_defaults(func=cmd_api_key_revoke)
    keys.add_parser("list", help="every key: prefix, role, state, expiry, last use"
                    ).set_defaults(func=cmd_api_key_list)


def _add_version_commands(sub: Any) -> None:
    """pathway-version add: store a new pathway version."""
    versions = sub.add_parser("pathway-version", help="pathway versions").add_subparsers(
        dest="action", required=True)
    va = versions.add_parser("add", help="store a new pathway version from a JSON file")
    va.add_argument("file")
    va.add_argument("--note", default="")
    va.set_defaults(func=cmd_version_add)


def build_parser() -> argparse.ArgumentParser:
    """The `pathway` command line with every subcommand."""
    parser = argparse.ArgumentParser(prog="pathway", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    _add_service_commands(sub)
    _add_demo_commands(sub)
    _add_access_commands(sub)
    _add_version_commands(sub)
    simulate.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; domain errors print a message and exit 2."""
    args = build_parser().parse_args(argv)
    settings = get_settings()
    try:
        return int(args.func(args, settings))
    except PathwayError as exc:
        print(f"pathway: {exc}", file=sys.stderr)
        return 2
