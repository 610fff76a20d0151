"""Clerk webhooks end to end: 1,000 signed deliveries through gunicorn, Redis and a real worker.

    .venv/bin/python bench/webhooks.py [--deliveries 1000] [--concurrency 20] [--web-workers N]

A realistic mix of user, organization and membership events (created, updated, deleted) is
signed with the svix library and posted 20 at a time; 10% arrive out of order (moved up to 60
places earlier) and 5% are delivered twice (same svix-id, like Svix's retries). Embedded
PostgreSQL and Redis are started (and stopped) unless ``DATABASE_URL`` / ``REDIS_URL`` are set;
then a database ``coursecove_bench_webhooks`` is created on that server, dropped first.

Progress goes to stderr; the last line on stdout is one JSON object:
``fast_path_share`` (events completed inside the request), ``fast_p50_ms`` / ``fast_p99_ms``
(server-side time of those, from the request reaching the view to the commit), ``lost``
(acknowledged but not finished, or refused), ``duplicated`` (a svix-id processed twice),
``failed``, plus the client-observed HTTP latency, and ``state_mismatches`` (final users,
schools and memberships compared with what the events say).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests
from svix.webhooks import Webhook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FIXTURES = ROOT / "tests" / "fixtures" / "clerk"
SECRET = "whsec_" + "QmVuY2htYXJrU2VjcmV0Rm9yQ2xlcmtXZWJob29rcw=="
DOMAIN = "bench.coursecove.test"
QUEUE = "bench-webhooks"

log = logging.getLogger("bench.webhooks")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


# --- the event stream --------------------------------------------------------------------


@dataclass
class Delivery:
    svix_id: str
    event: dict
    body: str = field(init=False)

    def __post_init__(self) -> None:
        self.body = json.dumps(self.event)


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def build_events(total_unique: int, rng: random.Random) -> list[dict]:
    """A Clerk instance's day, in Clerk's order: schools, people signing up and joining,
    profile and role changes, a few deletions. Versions are Clerk ``updated_at`` values."""
    schools = max(4, total_unique // 48)
    people = int(total_unique * 0.31)
    base_ms = int(datetime.now(UTC).timestamp() * 1000) - 86_400_000
    span = 80_000_000
    timeline: list[tuple[int, dict]] = []

    def user(i: int, kind: str, at: int, **changes) -> dict:
        event = _fixture(f"user.{kind}")
        event["data"]["id"] = f"user_bench{i:05d}"
        if kind != "deleted":
            event["data"]["email_addresses"][0]["email_address"] = f"bench{i}@example.org"
            event["data"].update(
                {"first_name": f"Person{i}", "last_name": "Bench", "updated_at": at, **changes}
            )
        event["timestamp"] = at
        return event

    def org(i: int, kind: str, at: int, **changes) -> dict:
        event = _fixture(f"organization.{kind}")
        event["data"]["id"] = f"org_bench{i:03d}"
        if kind != "deleted":
            event["data"].update(
                {
                    "name": f"Bench School {i}",
                    "slug": f"bench-school-{i}",
                    "updated_at": at,
                    **changes,
                }
            )
        event["timestamp"] = at
        return event

    def membership(person: int, school: int, kind: str, at: int, role: str, metadata: dict) -> dict:
        event = _fixture(f"organizationMembership.{kind}")
        data = event["data"]
        data["id"] = f"orgmem_bench{school:03d}_{person:05d}"
        data["organization"].update(id=f"org_bench{school:03d}", slug=f"bench-school-{school}")
        data["public_user_data"].update(
            user_id=f"user_bench{person:05d}", identifier=f"bench{person}@example.org"
        )
        data.update(role=role, public_metadata=metadata, updated_at=at)
        event["timestamp"] = at
        return event

    school_created = {}
    for s in range(schools):
        at = base_ms + rng.randint(0, span // 10)
        school_created[s] = at
        timeline.append((at, org(s, "created", at)))
    members: list[tuple[int, int, int]] = []
    for p in range(people):
        at = base_ms + rng.randint(span // 20, span * 7 // 10)
        timeline.append((at, user(p, "created", at)))
        school = rng.randrange(schools)
        # People join a school a little after signing up (Clerk sends these seconds apart;
        # here at least a few dozen deliveries later).
        joined = max(at, school_created[school]) + rng.randint(span // 25, span // 8)
        members.append((p, school, joined))
        role = "org:admin" if rng.random() < 0.1 else "org:member"
        metadata = {"coursecove_role": "instructor"} if rng.random() < 0.2 else {}
        timeline.append((joined, membership(p, school, "created", joined, role, metadata)))

    remaining = total_unique - len(timeline)
    kinds = (
        ["user.updated"] * 45
        + ["membership.updated"] * 38
        + ["org.updated"] * 4
        + ["membership.deleted"] * 8
        + ["user.deleted"] * 3
        + ["org.deleted"] * 1
    )
    deleted: set[str] = set()
    while remaining > 0:
        kind = rng.choice(kinds)
        late = base_ms + span * 3 // 4 + rng.randint(0, span // 4)
        if kind == "user.updated":
            p = rng.randrange(people)
            if f"u{p}" in deleted:
                continue
            timeline.append((late, user(p, "updated", late, first_name=f"Renamed{p}-{late % 997}")))
        elif kind == "org.updated":
            s = rng.randrange(schools)
            if f"o{s}" in deleted:
                continue
            timeline.append((late, org(s, "updated", late, name=f"Bench School {s} ({late % 89})")))
        elif kind in ("membership.updated", "membership.deleted"):
            p, s, _ = rng.choice(members)
            if f"m{p}" in deleted:
                continue
            role = rng.choice(["org:admin", "org:member"])
            if kind == "membership.deleted":
                deleted.add(f"m{p}")
                late = base_ms + span + rng.randint(1, 1000)
            timeline.append((late, membership(p, s, kind.split(".")[1], late, role, {})))
        elif kind == "user.deleted":
            p = rng.randrange(people)
            if f"u{p}" in deleted:
                continue
            deleted.add(f"u{p}")
            at = base_ms + span + 2000 + rng.randint(1, 1000)
            timeline.append((at, user(p, "deleted", at)))
        else:
            s = rng.randrange(schools)
            if f"o{s}" in deleted:
                continue
            deleted.add(f"o{s}")
            at = base_ms + span + 4000 + rng.randint(1, 1000)
            timeline.append((at, org(s, "deleted", at)))
        remaining -= 1
    timeline.sort(key=lambda item: item[0])
    return [event for _, event in timeline]


def build_deliveries(total: int, rng: random.Random) -> tuple[list[Delivery], list[Delivery]]:
    """(deliveries in arrival order, the unique events): 5% repeated, 10% out of order."""
    duplicates = round(total * 0.05)
    unique = [
        Delivery(f"msg_bench_{i:05d}", event)
        for i, event in enumerate(build_events(total - duplicates, rng))
    ]
    arrival = list(unique)
    for index in rng.sample(range(len(arrival)), round(total * 0.10)):
        moved = arrival.pop(index)
        arrival.insert(max(0, index - rng.randint(1, 60)), moved)
    for original in rng.sample(unique, duplicates):
        position = arrival.index(original) + rng.choice([1, 2, rng.randint(3, 100)])
        arrival.insert(min(position, len(arrival)), original)  # same svix-id, same body
    return arrival, unique


def expected_state(unique: list[Delivery]) -> dict:
    """What CourseCove must hold at the end: the newest version of everything; deleted
    objects must be gone or inactive (a deletion that overtook its creation leaves nothing)."""
    state: dict[str, dict] = {}
    for delivery in unique:
        event = delivery.event
        data, kind = event["data"], event["type"].rsplit(".", 1)[1]
        key = data["id"]
        if kind == "deleted":
            state.setdefault(key, {})["deleted"] = True
            continue
        current = state.get(key)
        if current is None or current.get("version", -1) <= data["updated_at"]:
            state[key] = {**(current or {}), "version": data["updated_at"], "data": data}
    return state


# --- the processes -----------------------------------------------------------------------


class Stack:
    """PostgreSQL, Redis, gunicorn and a Celery worker (with beat), stopped together."""

    def __init__(self, web_workers: int, workdir: Path):
        self.workdir = workdir
        self.web_workers = web_workers
        self.children: list[subprocess.Popen] = []
        self.engines: list = []

    def start(self) -> None:
        from sqlalchemy.engine import make_url

        from app.local_engines import (
            create_database,
            free_port,
            postgres_url,
            start_postgres,
            start_redis,
        )

        database_url = os.environ.get("DATABASE_URL")
        if database_url:  # config is imported only once the environment is final
            create_database(database_url, "coursecove_bench_webhooks", drop_first=True)
            database_url = (
                make_url(database_url)
                .set(
                    drivername="postgresql+psycopg",
                    database="coursecove_bench_webhooks",
                )
                .render_as_string(hide_password=False)
            )
        else:
            server = start_postgres(self.workdir / "pgdata", cleanup_mode="delete")
            self.engines.append(server)
            create_database(postgres_url(server, "postgres"), "coursecove_bench")
            database_url = postgres_url(server, "coursecove_bench")
        redis_url = os.environ.get("REDIS_URL")
        if not redis_url:
            redis_server, redis_url = start_redis(self.workdir / "redis.db")
            self.engines.append(redis_server)
        self.port = free_port()
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "CLERK_WEBHOOK_SECRET": SECRET,
            "APP_DOMAIN": DOMAIN,
            "WEBHOOK_TASK_QUEUE": QUEUE,
        }
        os.environ.update(self.env)  # before config is imported

        from app import create_app
        from app.database import prepare_database

        self.app = create_app()
        prepare_database(self.app)
        self._spawn(
            "web",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(self.web_workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--backlog",
                "256",
                "app:create_app()",
            ],
        )
        self.worker = self._spawn(
            "worker",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "celery_worker",
                "worker",
                "--beat",
                "--schedule",
                str(self.workdir / "beat-schedule"),
                "--pool",
                "prefork",
                "--concurrency",
                "2",
                "--queues",
                f"{QUEUE},celery",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                "bench-webhooks@%h",
            ],
        )
        self._wait_until_ready()

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        output = open(self.workdir / f"{name}.log", "w")  # noqa: SIM115 (lives with the child)
        child = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.children.append(child)
        return child

    def _wait_until_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        web = worker = False
        while time.monotonic() < deadline and not (web and worker):
            for child in self.children:
                if child.poll() is not None:
                    raise RuntimeError(f"a child process exited early; see {self.workdir}")
            worker = worker or " ready." in (self.workdir / "worker.log").read_text()
            try:
                requests.get(f"http://127.0.0.1:{self.port}/", headers={"Host": DOMAIN}, timeout=2)
                web = True
            except requests.RequestException:
                pass
            time.sleep(0.2)
        if not (web and worker):
            raise RuntimeError(f"web={web} worker={worker} after {timeout}s; see {self.workdir}")
        time.sleep(3)  # every gunicorn worker has built its app by now

    def stop(self) -> None:
        from app.local_engines import stop_engines, stop_process_groups

        stop_process_groups(self.children)
        stop_engines(self.engines)


# --- sending and measuring ---------------------------------------------------------------

_sessions = threading.local()


def send(port: int, delivery: Delivery) -> tuple[str, int, str, float]:
    session = getattr(_sessions, "session", None) or requests.Session()
    _sessions.session = session
    now = datetime.now(UTC)
    headers = {
        "Host": DOMAIN,
        "content-type": "application/json",
        "svix-id": delivery.svix_id,
        "svix-timestamp": str(int(now.timestamp())),
        "svix-signature": Webhook(SECRET).sign(delivery.svix_id, now, delivery.body),
    }
    started = time.perf_counter()
    response = session.post(
        f"http://127.0.0.1:{port}/api/webhooks/clerk",
        data=delivery.body,
        headers=headers,
        timeout=30,
    )
    took_ms = (time.perf_counter() - started) * 1000
    status = response.json().get("status", "?") if response.ok else f"http {response.status_code}"
    return delivery.svix_id, response.status_code, status, took_ms


def wait_until_settled(app, svix_ids: set[str], timeout: float) -> dict[str, dict]:
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import WebhookEvent
    from app.tenancy import privileged

    deadline = time.monotonic() + timeout
    with app.app_context(), privileged():
        while True:
            rows = {
                row.svix_id: row._asdict()
                for row in db.session.execute(
                    sa.select(
                        WebhookEvent.svix_id,
                        WebhookEvent.status,
                        WebhookEvent.path,
                        WebhookEvent.attempts,
                        WebhookEvent.duration_ms,
                        WebhookEvent.queued_at,
                        WebhookEvent.last_error,
                    )
                )
            }
            db.session.commit()
            open_ones = [
                s for s in svix_ids if rows.get(s, {}).get("status") not in ("completed", "failed")
            ]
            if not open_ones or time.monotonic() > deadline:
                return rows
            log.info("waiting for %s event(s) on the slow path…", len(open_ones))
            time.sleep(1)


def state_mismatches(app, unique: list[Delivery]) -> list[str]:
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import ClerkUser, Membership, Organization, User
    from app.tenancy import privileged

    problems = []
    with app.app_context(), privileged():
        users = {
            row.clerk_user_id: row
            for row in db.session.execute(
                sa.select(ClerkUser.clerk_user_id, User.email, User.first_name, User.active).join(
                    User, User.id == ClerkUser.user_id
                )
            )
        }
        schools = {
            row.clerk_org_id: row
            for row in db.session.execute(
                sa.select(Organization.clerk_org_id, Organization.name, Organization.active).where(
                    Organization.clerk_org_id.is_not(None)
                )
            )
        }
        memberships = {
            row.clerk_membership_id: row
            for row in db.session.execute(
                sa.select(Membership.clerk_membership_id, Membership.role, Membership.active).where(
                    Membership.clerk_membership_id.is_not(None)
                )
            )
        }
        db.session.commit()
    expected = expected_state(unique)
    for key, want in expected.items():
        data, prefix = want.get("data") or {}, key.split("_", 1)[0]
        table = {"user": users, "org": schools, "orgmem": memberships}[prefix]
        got = table.get(key)
        if want.get("deleted"):
            if got is not None and got.active:
                problems.append(f"{key} was deleted in Clerk but is active")
            continue
        if prefix == "orgmem":
            owner = data["public_user_data"]["user_id"]
            school = data["organization"]["id"]
            if expected.get(owner, {}).get("deleted") or expected.get(school, {}).get("deleted"):
                continue  # its person or school is gone; either outcome is right
        if got is None:
            problems.append(f"{key} is missing")
        elif prefix == "user" and got.first_name != data["first_name"]:
            problems.append(
                f"{key}: first name {got.first_name!r}, expected {data['first_name']!r}"
            )
        elif prefix == "org" and got.name != data["name"]:
            problems.append(f"{key}: name {got.name!r}, expected {data['name']!r}")
        elif prefix == "orgmem":
            want_role = (
                "admin"
                if data["role"] == "org:admin"
                else (
                    "instructor"
                    if data["public_metadata"].get("coursecove_role") == "instructor"
                    else "student"
                )
            )
            if got.role.value != want_role or not got.active:
                problems.append(
                    f"{key}: {got.role.value} active={got.active}, expected {want_role}"
                )
    return problems


def run(args: argparse.Namespace) -> dict:
    rng = random.Random(args.seed)
    arrival, unique = build_deliveries(args.deliveries, rng)
    log.info(
        "%s deliveries (%s unique events, %s repeated), %s types",
        len(arrival),
        len(unique),
        len(arrival) - len(unique),
        dict(Counter(d.event["type"] for d in unique)),
    )
    workdir = Path(tempfile.mkdtemp(prefix="coursecove-bench-webhooks-"))
    stack = Stack(args.web_workers, workdir)
    try:
        stack.start()
        log.info(
            "gunicorn (%s workers) on :%s, worker with beat; sending %s at a time",
            args.web_workers,
            stack.port,
            args.concurrency,
        )
        started = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            results = list(pool.map(lambda d: send(stack.port, d), arrival))
        sending_s = time.perf_counter() - started
        rows = wait_until_settled(stack.app, {d.svix_id for d in unique}, args.settle_timeout)
        settled_s = time.perf_counter() - started
        mismatches = state_mismatches(stack.app, unique)
    finally:
        stack.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    refused = [r for r in results if r[1] != 200]
    processed_answers = Counter(
        svix_id for svix_id, code, status, _ in results if code == 200 and status != "duplicate"
    )
    fast = [
        row["duration_ms"]
        for row in rows.values()
        if row["status"] == "completed" and row["path"] == "fast"
    ]
    http_ms = [r[3] for r in results]
    for line in mismatches[:10]:
        log.warning("state mismatch: %s", line)
    return {
        "deliveries": len(arrival),
        "unique_events": len(unique),
        "concurrency": args.concurrency,
        "web_workers": args.web_workers,
        "fast_path_share": round(len(fast) / len(unique), 4),
        "fast_p50_ms": round(statistics.median(fast), 1) if fast else None,
        "fast_p99_ms": round(percentile(fast, 0.99), 1) if fast else None,
        "queued": sum(1 for row in rows.values() if row["queued_at"] is not None),
        "lost": len(refused)
        + sum(
            1
            for d in unique
            if rows.get(d.svix_id, {}).get("status") != "completed"
            and rows.get(d.svix_id, {}).get("status") != "failed"
        ),
        "duplicated": sum(count - 1 for count in processed_answers.values() if count > 1),
        "failed": sum(1 for row in rows.values() if row["status"] == "failed"),
        "state_mismatches": len(mismatches),
        "http_p50_ms": round(statistics.median(http_ms), 1),
        "http_p99_ms": round(percentile(http_ms, 0.99), 1),
        "sending_s": round(sending_s, 2),
        "deliveries_per_s": round(len(arrival) / sending_s, 1),
        "all_settled_s": round(settled_s, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--web-workers",
        type=int,
        default=os.cpu_count() or 2,
        help="gunicorn sync workers (default: one per CPU)",
    )
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--settle-timeout", type=float, default=180)
    parser.add_argument("--keep", action="store_true", help="keep the logs and data directory")
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s: %(message)s"
    )
    result = run(args)
    print(json.dumps(result), flush=True)
    return 0 if result["lost"] == result["duplicated"] == result["failed"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
