"""Webhook delivery: 10,000 events to 10 endpoints on loopback, through the real outbox, Redis
and Celery workers, against the same number of signed POSTs sent by a bare loop.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_webhooks REDIS_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python bench/webhooks_bench.py [--events 10000] [--endpoints 10] [--concurrency 8]

Everything runs on loopback: a fresh PostgreSQL database, Redis as the broker, a Celery worker
(prefork) on the `webhooks` queue, the test suite's DNS server (dnslib) and HTTPS receiver
(trustme CA) which verifies every signature with `standardwebhooks`. Ten organizations have one
endpoint each (hooks<N>.bench, all 127.0.0.1); the events are written in transactions of 500
(`console.events.emit_many`, the path every state change takes), spread round-robin over the
organizations, so each endpoint gets events/endpoints deliveries. Every 15 s the bench runs the
dispatcher as beat would (it re-queues due deliveries: on a shared Redis a lost message is found
again, as in production).

Prints deliveries per second (first commit to last arrival) and the lag from an event's commit
to its arrival (p50/p95), and the same for the baseline: one thread, the same bodies signed with
`standardwebhooks`, each name resolved through the same DNS server and each POST on a new TLS connection
(as the outbox path does: it resolves, vets and pins per delivery), to the same receiver. The ratio is outbox / bare loop.
"""

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load_bench import ensure_database  # noqa: E402


def percentile(values, p):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Arrivals:
    """When each webhook-id arrived at the receiver (wall clock), recorded by its handler threads."""

    def __init__(self, receiver):
        self._lock = threading.Lock()
        self.times: dict[str, float] = {}
        self.unverified = 0
        original = receiver.record_post

        def record(seen):
            now = time.time()
            with self._lock:
                if seen.verified is False:
                    self.unverified += 1
                self.times.setdefault(seen.headers.get("webhook-id", ""), now)
            original(seen)

        receiver.record_post = record

    def count(self):
        with self._lock:
            return len(self.times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_webhooks")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9")
    if not database_url.startswith("postgres"):
        sys.exit("webhooks_bench needs PostgreSQL: set DATABASE_URL=postgres://...")
    ensure_database(database_url)

    from tests.support.dns_server import LoopbackDNSServer
    from tests.support.https_server import LoopbackHTTPSServer

    dns_server = LoopbackDNSServer()
    receiver = LoopbackHTTPSServer()
    hosts = [f"hooks{i}.bench" for i in range(args.endpoints)]
    for host in hosts:
        dns_server.set_a(host, "127.0.0.1")
        receiver.answer_sequence(host, "/in", [200])

    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "LOG_LEVEL": "WARNING",
        "CONN_MAX_AGE": "60",
        "DNS_NAMESERVERS": dns_server.host,
        "DNS_PORT": str(dns_server.port),
        "DNS_AUTHORITATIVE_MODE": "0",
        "HTTPS_ALLOW_LOOPBACK": "1",
        "HTTPS_CA_BUNDLE": receiver.ca_bundle_path,
    }
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    import django

    django.setup()
    from celery import current_app
    from django.db import transaction

    from console import events
    from console.models import Membership, Organization, User
    from webhooks import services
    from webhooks.models import Delivery, Event

    current_app.conf.broker_url = redis_url
    with current_app.connection_for_write() as conn:
        try:
            conn.default_channel.queue_purge("webhooks")
        except conn.channel_errors:
            pass

    organizations, secrets = [], {}
    for i, host in enumerate(hosts):
        org = Organization.objects.create(name=f"Bench {i}")
        owner = User.objects.create_user(f"owner{i}@bench.test", password=None, email_verified=True)
        Membership.objects.create(user=owner, organization=org, role=Membership.Role.OWNER)
        endpoint, secret = services.create_endpoint(
            organization=org, url=f"https://{host}:{receiver.port}/in", description="bench", event_types=[], enabled=True,
            actor=owner,
        )
        receiver.verify_with(host, secret)
        organizations.append(org)
        secrets[host] = secret

    arrivals = Arrivals(receiver)
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "webhooks", "-P", "prefork",
         "-c", str(args.concurrency), "-n", "bench@%h", "--without-gossip", "--without-mingle", "-l", "warning"],
        cwd=ROOT, env=env,
    )
    try:
        time.sleep(3)  # the worker's processes start
        print(f"outbox: {args.events:,} events to {args.endpoints} endpoints, worker concurrency {args.concurrency}", flush=True)
        started = time.time()
        written = 0
        while written < args.events:
            size = min(args.batch, args.events - written)
            by_org = {}
            for n in range(written, written + size):
                by_org.setdefault(n % len(organizations), []).append({"n": n, "domain": {"name": f"d{n}.bench"}})
            with transaction.atomic():
                for index, items in by_org.items():
                    events.emit_many(events.DOMAIN_VERIFIED, organization_id=organizations[index].pk, items=items)
            written += size
        committed = time.time()
        deadline = time.time() + 1800
        last_dispatch = time.time()
        while arrivals.count() < args.events and time.time() < deadline:
            if worker.poll() is not None:
                sys.exit("the worker exited")
            if time.time() - last_dispatch >= 15:  # what beat does: re-queue anything a broker lost
                last_dispatch = time.time()
                requeued = services.dispatch_due()
                if requeued:
                    print(f"  dispatcher re-queued {requeued:,} due deliveries", flush=True)
            time.sleep(0.2)
        finished = time.time()
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()

    created = dict(Event.objects.values_list("public_id", "created_at"))
    lags = [arrivals.times[pid] - when.timestamp() for pid, when in created.items() if pid in arrivals.times]
    delivered = Delivery.objects.filter(status=Delivery.Status.DELIVERED).count()
    outbox_rate = len(lags) / (finished - started)
    outbox = {"n": len(lags), "seconds": finished - started, "rate": outbox_rate,
              "p50": percentile(lags, 50) * 1000, "p95": percentile(lags, 95) * 1000}
    print(f"  written in {committed - started:.1f} s; {delivered:,} delivered; {arrivals.unverified} failed verification")

    # Baseline: the same number of signed POSTs from a bare loop.
    import dns.resolver
    import urllib3
    from standardwebhooks.webhooks import Webhook

    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port = [dns_server.host], dns_server.port
    print(f"bare loop: {args.events:,} signed POSTs, one thread, name resolved and new connection each", flush=True)
    bodies = list(Event.objects.order_by("pk").values_list("public_id", "payload")[: args.events])
    import json

    baseline_lags = []
    base_started = time.time()
    for n, (public_id, payload) in enumerate(bodies):
        host = hosts[n % len(hosts)]
        body = json.dumps(payload, separators=(",", ":"))
        sent_at = datetime.now(UTC)
        signature = Webhook(secrets[host]).sign(f"bare_{public_id}", sent_at, body)
        began = time.time()
        address = resolver.resolve(host, "A")[0].address
        with urllib3.HTTPSConnectionPool(
            address, receiver.port, server_hostname=host, assert_hostname=host, ca_certs=receiver.ca_bundle_path,
            timeout=15, retries=False,
        ) as pool:
            response = pool.urlopen(
                "POST", "/in", body=body.encode(),
                headers={"Host": f"{host}:{receiver.port}", "webhook-id": f"bare_{public_id}",
                         "webhook-timestamp": str(int(sent_at.timestamp())), "webhook-signature": signature,
                         "Content-Type": "application/json"},
            )
        if response.status != 200:
            sys.exit(f"baseline POST answered {response.status}")
        baseline_lags.append(time.time() - began)
    base_seconds = time.time() - base_started
    baseline = {"n": len(baseline_lags), "seconds": base_seconds, "rate": len(baseline_lags) / base_seconds,
                "p50": percentile(baseline_lags, 50) * 1000, "p95": percentile(baseline_lags, 95) * 1000}
    receiver.stop()
    dns_server.stop()

    print()
    print(f"{'run':<28}{'deliveries':>11}{'seconds':>9}{'per s':>9}{'lag p50 ms':>12}{'lag p95 ms':>12}")
    for name, row in (("outbox + Celery (webhooks)", outbox), ("bare loop (baseline)", baseline)):
        print(f"{name:<28}{row['n']:>11,}{row['seconds']:>9.1f}{row['rate']:>9.1f}{row['p50']:>12.1f}{row['p95']:>12.1f}")
    print(f"ratio outbox/bare loop deliveries per second: {outbox['rate'] / baseline['rate']:.2f}")
    if outbox["n"] < args.events:
        sys.exit(f"only {outbox['n']} of {args.events} events arrived")


if __name__ == "__main__":
    main()
