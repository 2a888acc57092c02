"""Benchmark: does the answer's timing tell whether an address has a user?

    createdb -h 127.0.0.1 -U postgres h_enum_bench
    .venv/bin/python bench/enumeration_bench.py [--tries 50]

Posts the real sign-up and password-reset forms through the whole Django stack (middleware,
forms, the production password hasher, PostgreSQL), alternating an address that has a user
with one that has none, and prints the median time of each case and their ratio.
Goal: the ratio between 0.8 and 1.25 for both forms.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/h_enum_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
os.environ["CELERY_BROKER_URL"] = "memory://"
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("EMAIL_URL", "memorymail://")
# The limits would stop a benchmark that signs up 100 times from one address.
os.environ["MAIL_RATE_PER_RECIPIENT"] = "1000000"
os.environ["MAIL_RATE_PER_ADDRESS"] = "1000000"

PASSWORD = "a-long-and-unusual-passphrase-42"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tries", type=int, default=50)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client
    from django.urls import reverse

    from console.models import User

    call_command("migrate", verbosity=0)
    User.objects.filter(email__endswith="@enum.bench").delete()
    User.objects.create_user("known@enum.bench", password=PASSWORD, email_verified=True)

    def sign_up(email):
        data = {"email": email, "full_name": "", "password1": PASSWORD, "password2": PASSWORD}
        return Client().post(reverse("console:sign_up"), data)

    def reset(email):
        return Client().post(reverse("console:password_reset"), {"email": email})

    results = {}
    for name, post in (("sign-up", sign_up), ("password reset", reset)):
        post("warm-up@enum.bench")
        timings = {"known": [], "unknown": []}
        for number in range(args.tries):
            for case in ("known", "unknown"):  # alternate, so drift hits both cases alike
                email = "known@enum.bench" if case == "known" else f"new{number}-{time.time_ns()}@enum.bench"
                started = time.perf_counter()
                response = post(email)
                timings[case].append(time.perf_counter() - started)
                assert response.status_code == 302, (name, case, response.status_code)
        results[name] = {case: statistics.median(values) * 1000 for case, values in timings.items()}

    print(f"\nEnumeration timing: {args.tries} tries per case, medians, production password hasher, PostgreSQL")
    print(f"{'form':<16}{'address has a user ms':>24}{'no user ms':>14}{'ratio':>8}  goal 0.8-1.25")
    for name, medians in results.items():
        ratio = medians["known"] / medians["unknown"]
        verdict = "met" if 0.8 <= ratio <= 1.25 else "NOT met"
        print(f"{name:<16}{medians['known']:>24.1f}{medians['unknown']:>14.1f}{ratio:>8.2f}  {verdict}")
    User.objects.filter(email__endswith="@enum.bench").delete()


if __name__ == "__main__":
    main()
