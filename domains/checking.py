"""Glue between settings and the pure-I/O verifiers in domains/verifiers/.

Services and tasks call `run_check`; the verifiers themselves never read settings, so tests
drive them directly against the loopback DNS and HTTPS servers.
"""

import html
import time

from django.conf import settings

from domains.messages import Message, gettext_noop
from domains.verifiers import (
    CheckResult,
    Outcome,
    ResolverConfig,
    check_dns_txt,
    check_https_file,
)

DNS = "dns"
HTTPS = "https"


def resolver_config_from_settings() -> ResolverConfig:
    return ResolverConfig(
        nameservers=tuple(settings.DNS_NAMESERVERS or ()),
        port=int(settings.DNS_PORT),
        timeout=float(settings.DNS_TIMEOUT_SECONDS),
        authoritative=bool(settings.DNS_AUTHORITATIVE_MODE),
    )


def txt_record_value(token: str) -> str:
    """The exact TXT value (and HTML file marker) the admin publishes."""
    return f"{settings.DOMAIN_TXT_PREFIX}{token}"


def html_file_content(token: str) -> str:
    """The small HTML page offered by "Download HTML File"; it holds `<prefix><token>`."""
    value = html.escape(txt_record_value(token))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        f'<meta name="domain-verification" content="{value}">\n'
        "<title>Domain verification</title>\n"
        "</head>\n"
        "<body>\n"
        f"{value}\n"
        "</body>\n"
        "</html>\n"
    )


def run_check(
    domain_name: str,
    token: str,
    method: str,
    *,
    deadline_seconds: float,
    old_tokens: tuple[str, ...] | list[str] = (),
) -> CheckResult:
    """Run one check of `domain_name` (ASCII) by `method` ("dns" or "https") within the deadline.

    Never raises for network trouble: every failure is a CheckResult (inconclusive when the
    answer could not be had). duration_ms is measured here.
    """
    started = time.monotonic()
    deadline = started + float(deadline_seconds)
    resolver = resolver_config_from_settings()
    method = str(method)
    if method == DNS:
        result = check_dns_txt(
            domain_name,
            token,
            resolver=resolver,
            label=settings.DOMAIN_TXT_LABEL,
            prefix=settings.DOMAIN_TXT_PREFIX,
            deadline=deadline,
            allow_loopback=bool(settings.HTTPS_ALLOW_LOOPBACK),
            old_tokens=tuple(old_tokens),
        )
    elif method == HTTPS:
        result = check_https_file(
            domain_name,
            token,
            resolver=resolver,
            port=int(settings.HTTPS_PORT),
            filename=settings.DOMAIN_HTML_FILENAME,
            ca_bundle=settings.HTTPS_CA_BUNDLE or None,
            allow_loopback=bool(settings.HTTPS_ALLOW_LOOPBACK),
            connect_timeout=float(settings.HTTPS_CONNECT_TIMEOUT_SECONDS),
            max_bytes=int(settings.HTTPS_MAX_BYTES),
            deadline=deadline,
            old_tokens=tuple(old_tokens),
            prefix=settings.DOMAIN_TXT_PREFIX,
        )
    else:
        result = CheckResult(
            Outcome.INCONCLUSIVE, Message(gettext_noop("Unknown verification method %(method)s."), {"method": method})
        )
    duration_ms = int((time.monotonic() - started) * 1000)
    return CheckResult(result.outcome, result.detail, tuple(result.diagnostics), duration_ms)
