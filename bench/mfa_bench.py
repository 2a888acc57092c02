"""Benchmark: what two-factor sign-in costs.

    .venv/bin/python bench/mfa_bench.py [--requests 200] [--members 50] [--checks 300]

Uses its own fresh PostgreSQL database (DATABASE_URL, default h_mfa_bench) and runs in process
through the whole Django stack. Prints, each with a baseline measured in the same run:

- the gate: the median time and the queries of the Users page (50 members) for a signed-in
  Owner with the second-factor middleware, against the same page with it removed from
  MIDDLEWARE. Goal: no extra query, ratio close to 1.
- the check: the median time of one right authenticator-app code through the service (the
  throttle's counters, the one-use update, the audit row), against one password check through
  the throttled backend with the production hasher (what every sign-in already pays).
"""

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/h_mfa_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
os.environ["CELERY_BROKER_URL"] = "memory://"
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("EMAIL_URL", "memorymail://")
os.environ["MFA_FAILURES_PER_USER"] = "1000000"

from load_bench import ensure_database  # noqa: E402

PASSWORD = "a-long-and-unusual-passphrase-42"


def _median_ms(values):
    return statistics.median(values) * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--checks", type=int, default=300)
    args = parser.parse_args()
    ensure_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    import pyotp
    from django.conf import settings
    from django.contrib.auth import authenticate
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client, RequestFactory
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.urls import reverse

    from console import clock
    from console.models import Membership, Organization, User
    from mfa import services, totp
    from mfa.models import TotpDevice

    call_command("migrate", verbosity=0)
    organization = Organization.objects.create(name="Bench Org", two_factor_required_for_admins=True)
    owner = User.objects.create_user("owner@mfa.bench", password=PASSWORD, email_verified=True)
    Membership.objects.create(user=owner, organization=organization, role=Membership.Role.OWNER)
    members = User.objects.bulk_create(
        [User(email=f"m{i}@mfa.bench", email_domain="mfa.bench", email_verified=True) for i in range(args.members)]
    )
    Membership.objects.bulk_create([Membership(user=u, organization=organization) for u in members])
    secret = totp.new_secret()
    TotpDevice.objects.create(user=owner, secret=secret)
    User.objects.filter(pk=owner.pk).update(two_factor_enabled=True)

    url = reverse("console:users")
    without_gate = [m for m in settings.MIDDLEWARE if m != "mfa.middleware.SecondFactorMiddleware"]

    def page_timings(client):
        timings, queries = [], []
        for _ in range(args.requests):
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(url)
                timings.append(time.perf_counter() - started)
            assert response.status_code == 200, response.status_code
            queries.append(len(captured))
        return timings, queries

    client = Client()
    client.force_login(owner)  # no password sign-in: the gate looks and lets the page through
    client.get(url)
    gate = {"on": ([], []), "off": ([], [])}
    for _round in range(4):  # interleaved, so drift hits both alike
        for case in ("on", "off"):
            if case == "off":
                with override_settings(MIDDLEWARE=without_gate):
                    timings, queries = page_timings(client)
            else:
                timings, queries = page_timings(client)
            gate[case][0].extend(timings)
            gate[case][1].extend(queries)

    request = RequestFactory().post("/sign-in/")
    code_times, password_times = [], []
    moment = clock.now()
    for _index in range(args.checks):
        moment += timedelta(seconds=30)  # a fresh time step: each code is new
        clock.set_now(moment)
        code = pyotp.TOTP(secret).at(moment)
        started = time.perf_counter()
        services.verify_code(user=owner, code=code, request=request)
        code_times.append(time.perf_counter() - started)
        if _index < max(20, args.checks // 10):
            started = time.perf_counter()
            assert authenticate(request, username=owner.email, password=PASSWORD) is not None
            password_times.append(time.perf_counter() - started)
    clock.reset()

    on_ms, off_ms = _median_ms(gate["on"][0]), _median_ms(gate["off"][0])
    print(f"\nTwo-factor sign-in: Users page with {args.members} members, {4 * args.requests} requests per case")
    print(f"{'case':<34}{'median ms':>10}{'queries':>9}")
    print(f"{'with the second-factor gate':<34}{on_ms:>10.2f}{max(gate['on'][1]):>9}")
    print(f"{'without it (baseline)':<34}{off_ms:>10.2f}{max(gate['off'][1]):>9}")
    print(f"ratio {on_ms / off_ms:.3f}; extra queries {max(gate['on'][1]) - max(gate['off'][1])} (goal 0)")
    code_ms, password_ms = _median_ms(code_times), _median_ms(password_times)
    print(f"\nOne right app code through the service: {code_ms:.2f} ms median ({len(code_times)} codes)")
    print(f"One password check, production hasher (baseline): {password_ms:.2f} ms median ({len(password_times)})")
    print(f"ratio {code_ms / password_ms:.3f}")


if __name__ == "__main__":
    main()
