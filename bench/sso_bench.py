"""Benchmark: what a single sign-on costs next to a password sign-in.

    .venv/bin/python bench/sso_bench.py [--tries 30]      (DATABASE_URL: a PostgreSQL database)

Starts the loopback OpenID Connect provider and the loopback SAML IdP of the tests, each in its
own process (TLS), then signs managed users in N times each way through the whole Django stack:
- baseline: the password form with the production hasher (and the SSO enforcement check);
- OIDC: the sign-in page's "Continue with single sign-on", the provider's form, the callback
  (code exchange, JWKS fetch, ID token verification, login);
- SAML: the same start (AuthnRequest by HTTP-Redirect), the IdP's form, the signed Response
  posted to the ACS (pysaml2 + xmlsec1 signature check, replay record, login); the ACS step is
  also reported alone.
Prints the median and p90 of each and the ratios of medians to the password sign-in.
"""

import argparse
import html
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/h_sso_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-" + "x" * 40)
os.environ["CELERY_BROKER_URL"] = "memory://"
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("EMAIL_URL", "memorymail://")
os.environ["HTTPS_ALLOW_LOOPBACK"] = "1"  # the provider is on loopback
os.environ["SIGNIN_FAILURES_PER_ACCOUNT"] = "1000000"
os.environ["SIGNIN_FAILURES_PER_ADDRESS"] = "1000000"

PASSWORD = "a-long-and-unusual-passphrase-42"


def start_providers(folder: Path):
    """The loopback OIDC provider and SAML IdP, each in its own process, under one test CA."""
    from tests.support.idp_process import issue_tls, start
    from tests.support.saml_idp import write_signing_pair

    cert_path, key_path, ca_path = issue_tls(folder, "127.0.0.1")
    os.environ["HTTPS_CA_BUNDLE"] = str(ca_path)
    oidc = start("tests.support.oidc_provider", cert_path, key_path, what="the loopback OIDC provider")
    write_signing_pair(folder, "signing")
    write_signing_pair(folder, "foreign")
    saml = start("tests.support.saml_idp", cert_path, key_path, folder, what="the loopback SAML IdP")
    return oidc, saml


def summary(name: str, samples: list[float]) -> float:
    median = statistics.median(samples)
    p90 = sorted(samples)[int(len(samples) * 0.9) - 1]
    print(f"{name:<28} median {median * 1000:7.1f} ms   p90 {p90 * 1000:7.1f} ms   n={len(samples)}")
    return median


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tries", type=int, default=30)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="sso-bench-"))
    (process, port), (saml_process, saml_port) = start_providers(folder)
    try:
        run(args.tries, port, saml_port, folder)
    finally:
        process.terminate()
        saml_process.terminate()


def run(tries: int, port: int, saml_port: int, folder: Path):
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from console.models import Organization, User
    from console.services import create_organization
    from domains.models import Domain
    from sso import services
    from sso.views import callback_url
    from tests.support.oidc_provider import LoopbackProvider
    from tests.support.saml_idp import LoopbackIdentityProvider

    call_command("migrate", verbosity=0)
    Organization.objects.filter(name__in=["SSO Bench", "SAML Bench"]).delete()
    User.objects.filter(email__endswith="sso-bench.example").delete()
    organization, owner, _ = create_organization(name="SSO Bench", owner_email="owner@sso-bench.example", password=PASSWORD)
    Domain.objects.create(organization=organization, name="sso-bench.example", unicode_name="sso-bench.example", status="verified")
    provider = LoopbackProvider(port, str(folder / "ca.pem"))
    provider.register("bench", "bench-secret", callback_url())
    services.save_provider(
        organization=organization, issuer=provider.issuer, client_id="bench", client_secret="bench-secret",
        jit_provisioning=False, actor=owner,
    )
    email = owner.email
    saml_organization, saml_owner, _ = create_organization(
        name="SAML Bench", owner_email="owner@saml.sso-bench.example", password=PASSWORD
    )
    Domain.objects.create(
        organization=saml_organization, name="saml.sso-bench.example", unicode_name="saml.sso-bench.example", status="verified"
    )
    idp = LoopbackIdentityProvider(saml_port, str(folder / "ca.pem"))
    services.save_saml_provider(
        organization=saml_organization, metadata_url=idp.metadata_url, metadata_xml=None, jit_provisioning=False, actor=saml_owner
    )
    idp.trust(Client().get(urlsplit(services.saml_service_provider(saml_organization).entity_id).path).content.decode())
    acs_times = []

    def password_sign_in():
        client = Client()
        started = time.perf_counter()
        response = client.post("/sign-in/", {"username": email, "password": PASSWORD})
        elapsed = time.perf_counter() - started
        assert response.status_code == 302, response.status_code
        return elapsed

    def sso_sign_in():
        client = Client()
        started = time.perf_counter()
        page = client.post("/sign-in/", {"username": email, "sso": "1"})
        link = re.search(r'id="to-provider" href="([^"]+)"', page.content.decode()).group(1)
        callback = provider.sign_in(html.unescape(link), email)
        parts = urlsplit(callback)
        response = client.get(f"{parts.path}?{parts.query}")
        elapsed = time.perf_counter() - started
        assert response.status_code == 302, response.content[:300]
        return elapsed

    def saml_sign_in():
        client = Client()
        started = time.perf_counter()
        page = client.post("/sign-in/", {"username": saml_owner.email, "sso": "1"})
        link = re.search(r'id="to-provider" href="([^"]+)"', page.content.decode()).group(1)
        acs_url, fields = idp.sign_in(html.unescape(link), saml_owner.email)
        acs_started = time.perf_counter()
        response = client.post(urlsplit(acs_url).path, fields)
        finished = time.perf_counter()
        assert response.status_code == 302, response.content[:300]
        acs_times.append(finished - acs_started)
        return finished - started

    password_sign_in(), sso_sign_in(), saml_sign_in()  # warm up
    acs_times.clear()
    baseline, sso, saml = [], [], []
    for _ in range(tries):  # alternate, so load on the machine falls on all alike
        baseline.append(password_sign_in())
        sso.append(sso_sign_in())
        saml.append(saml_sign_in())
    base = summary("password sign-in (baseline)", baseline)
    full = summary("OIDC round trip", sso)
    saml_full = summary("SAML round trip", saml)
    acs = summary("SAML ACS step alone", acs_times)
    print(f"ratio OIDC / password (medians): {full / base:.2f}")
    print(f"ratio SAML / password (medians): {saml_full / base:.2f}")
    print(f"ratio SAML ACS step / password (medians): {acs / base:.2f}")


if __name__ == "__main__":
    main()
