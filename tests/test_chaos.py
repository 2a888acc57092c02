"""The chaos run in its short form (bench/chaos_run.py): its own PostgreSQL, Redis, SMTP and
DNS servers on loopback, a real worker and beat, and every kind of fault at least once (the
worker SIGKILLed twice, Redis killed, PostgreSQL crashed, the SMTP server refusing); then
every due check applied exactly once, every import row once with its accounts, every e-mail
record sent and received, and nothing stuck. It runs in a subprocess: it configures Django
for its own database, not the test database."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.missing import skip_or_fail

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(900)]


def test_a_short_chaos_run_loses_nothing(tmp_path):
    from bench.chaos_run import missing_tools

    if missing_tools():
        skip_or_fail("the chaos run needs " + ", ".join(missing_tools()))
    out = tmp_path / "counts.json"
    run = subprocess.run(
        [
            sys.executable, "bench/chaos_run.py", "--domains", "200", "--users", "1000", "--emails", "100",
            "--phase-seconds", "60", "--smtp-outage-seconds", "15", "--worker-kills", "2",
            "--settle-seconds", "300", "--seed", "7", "--json", str(out),
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=840, check=False,
    )
    assert out.exists(), run.stdout[-4000:] + run.stderr[-4000:]
    counts = json.loads(out.read_text())
    print(json.dumps(counts, indent=2))  # the figures, in the test log
    kinds = " ".join(kind for _moment, kind in counts["faults"])
    for kind in ("worker SIGKILL", "redis-server SIGKILL", "PostgreSQL crash", "smtp refuses"):
        assert kind in kinds
    assert counts["failures"] == [], counts["failures"]
    assert counts["checks"]["applied once"] == counts["checks"]["due"] == 200
    assert counts["import"]["rows imported"] == counts["import"]["managed users created"] == 1000
    assert counts["import"]["accounts that followed"] == 1000
    mail = counts["e-mail"]
    assert mail["records sent"] == mail["records"] == mail["distinct Message-IDs received"]
    assert mail["records never received"] == 0
    assert run.returncode == 0
