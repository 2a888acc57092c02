"""Where one console page's time goes: CPU per request, queries, and the top functions.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_load REDIS_URL=redis://127.0.0.1:6379/9 \
        .venv/bin/python bench/page_profile.py [--repeat 30] [--top 25] [--language en] [--page domains]

In-process (django.test.Client, the production middleware stack, DEBUG off) against the database
bench/load_bench.py seeds; if it holds no bench data yet, the same seed is written first. Each page
of the load mix is requested a few times to warm caches, then `--repeat` times under
time.process_time (CPU ms per request, so a busy machine changes the figure less than wall time),
then once more per repeat under cProfile, whose top cumulative functions are printed. /healthz is
the baseline, as in the load benchmark.
"""

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


# Self time (cProfile's tottime) summed by where the function lives, to say where a page's time goes.
AREAS = (
    ("template engine", ("django/template/", "django/templatetags/")),
    ("ORM: query building", ("django/db/models/sql/", "django/db/models/expressions", "django/db/models/lookups",
                             "django/db/models/query_utils", "django/db/models/fields/related_lookups")),
    ("ORM: rows to objects", ("django/db/models/base", "django/db/models/query.py", "django/db/models/fields/")),
    ("database driver + wait", ("psycopg/", "django/db/backends/", "django/db/utils")),
    ("translation", ("django/utils/translation/", "gettext.py")),
    ("dates and formats", ("django/utils/dateformat", "django/utils/formats", "django/utils/timezone",
                           "django/utils/dates")),
    ("URL reversing/resolving", ("django/urls/",)),
    ("sessions, cache, Redis", ("django/contrib/sessions/", "django/core/cache/", "redis/", "kombu/", "celery/")),
    ("auth, CSRF, messages", ("django/contrib/auth/", "django/middleware/csrf", "django/contrib/messages/")),
    ("other middleware + handler", ("django/middleware/", "django/core/handlers/", "whitenoise/", "django_prometheus/",
                                    "prometheus_client/", "django/http/", "django/test/")),
    ("forms", ("django/forms/",)),
    ("escaping, lazy strings", ("django/utils/html", "django/utils/safestring", "django/utils/functional",
                                "django/utils/encoding", "asgiref/")),
    ("project code", ("/console/", "/domains/", "/imports/", "/mfa/", "/sso/", "/config/", "/api/", "/webhooks/")),
)


def areas_of(stats: pstats.Stats) -> list[tuple[str, float]]:
    totals: dict[str, float] = {}
    for (filename, _line, _name), (_calls, _primitive, tottime, _cumtime, _callers) in stats.stats.items():
        area = next((name for name, parts in AREAS if any(part in filename for part in parts)), "other (stdlib, C)")
        totals[area] = totals.get(area, 0.0) + tottime
    whole = sum(totals.values()) or 1.0
    return sorted(((name, 100 * value / whole) for name, value in totals.items()), key=lambda item: -item[1])


class _NoDNS:
    """The seed publishes TXT records for the worker's sweep; nothing here checks a domain."""

    def set_txt(self, name, value):
        pass


def setup_django() -> None:
    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_load")
    if not database_url.startswith("postgres"):
        sys.exit("page_profile needs PostgreSQL: set DATABASE_URL=postgres://...")
    # The same settings as the load benchmark's gunicorn, plus the test client's host name.
    os.environ.update({
        "DATABASE_URL": database_url,
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9"),
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key-" + "x" * 40),
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "LOG_LEVEL": "WARNING",
    })
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def seeded_pages() -> dict[str, str]:
    from django.core.management import call_command

    from console.models import User
    from domains.models import Domain

    call_command("migrate", "--noinput", verbosity=0)
    if not User.objects.filter(email="admin0@load.test").exists():
        import load_bench

        print("seeding the load benchmark's data ...", flush=True)
        load_bench.seed(50, 300, 2000, _NoDNS())
    admin = User.objects.get(email="admin0@load.test")
    organization = admin.membership.organization
    own = Domain.objects.filter(organization=organization).exclude(status=Domain.Status.REMOVED)
    apex = own.get(name="load.test")
    pages = {
        "healthz": "/healthz",
        "domains": "/domains/",
        "domain_detail": f"/domains/{own.exclude(pk=apex.pk).order_by('pk').first().pk}/",
        "users": "/users/",
        "users_page_2": "/users/?page=2",
        "accounts": "/accounts/",
        "domain_imports": f"/imports/domain/{apex.pk}/",
    }
    job = apex.import_jobs.order_by("-pk").first()
    if job is not None:
        pages["import_job"] = f"/imports/job/{job.pk}/"
    return pages


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--language", default="en")
    parser.add_argument("--page", action="append", help="only these pages (by name); repeatable")
    parser.add_argument("--no-profile", action="store_true", help="CPU ms and queries only")
    args = parser.parse_args()
    setup_django()

    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from console.models import User

    pages = seeded_pages()
    client = Client(headers={"accept-language": args.language})
    # Signed in as by the password form (the first backend), like the load benchmark's admins.
    client.force_login(User.objects.get(email="admin0@load.test"), backend=settings.AUTHENTICATION_BACKENDS[0])
    summary = []
    for name, path in pages.items():
        if args.page and name not in args.page:
            continue
        for _ in range(args.warmup):
            response = client.get(path)
            if response.status_code != 200:
                sys.exit(f"{name} {path}: HTTP {response.status_code}")
        with CaptureQueriesContext(connection) as captured:
            client.get(path)
        # Read now: every request start empties the connection's query log.
        queries = [query["sql"] for query in captured.captured_queries]
        cpu = []
        for _ in range(args.repeat):
            started = time.process_time()
            client.get(path)
            cpu.append((time.process_time() - started) * 1000)
        cpu.sort()
        median = cpu[len(cpu) // 2]
        summary.append((name, path, median, min(cpu), len(queries), len(response.content)))
        if args.no_profile:
            continue
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.repeat):
            client.get(path)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        shares = areas_of(stats)
        stats.strip_dirs().sort_stats("cumulative")
        stats.print_stats(args.top)
        print(f"\n=== {name} {path}: {median:.1f} ms CPU median, {len(queries)} queries "
              f"(cProfile over {args.repeat} requests) ===")
        print("\n".join(line for line in out.getvalue().splitlines()[4:] if line.strip()))
        print("self time by area (cProfile inflates Python calls, so read these as shares):")
        for area, share in shares:
            print(f"  {area:<28}{share:6.1f} %")
        print("queries:")
        for query in queries:
            print("  ", query[:160])

    baseline = next((row[2] for row in summary if row[0] == "healthz"), None)
    print()
    print(f"{'page':<16}{'CPU ms p50':>12}{'CPU ms min':>12}{'queries':>9}{'KiB':>8}{'× healthz':>11}")
    for name, _path, median, fastest, count, size in summary:
        ratio = f"{median / baseline:.1f}" if baseline else "-"
        print(f"{name:<16}{median:>12.2f}{fastest:>12.2f}{count:>9}{size / 1024:>8.1f}{ratio:>11}")


if __name__ == "__main__":
    main()
