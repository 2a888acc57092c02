"""Domains section pages: list, add, verify, download, details, settings, delete, isolation."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from console.models import AuditEvent, Membership
from console.tests.factories import PASSWORD, MembershipFactory, OrganizationFactory, UserFactory, admin_of
from domains import checking
from domains.models import Domain, DomainCheck, RemovedMember
from domains.selectors import rendered_check
from domains.tests.factories import DomainFactory

pytestmark = pytest.mark.django_db

HELD_ELSEWHERE = "This domain has been verified by another organization. If you own it, contact support."


@pytest.fixture
def owner_and_org():
    return admin_of(OrganizationFactory(name="Acme Corp"), "owner@acme-corp.example")


@pytest.fixture
def admin_client(owner_and_org):
    client = Client()
    client.force_login(owner_and_org[0])
    return client


@pytest.fixture
def other_org_domain():
    _, other = admin_of(OrganizationFactory(name="Globex"), "owner@globex.example")
    return DomainFactory(organization=other, name="globex.test")


def text_of(response) -> str:
    return response.content.decode()


# --- List -------------------------------------------------------------------------------


def test_empty_list_explains_what_a_domain_is_for(admin_client):
    response = admin_client.get(reverse("domains:list"))
    assert response.status_code == 200
    body = text_of(response)
    assert "No domains yet" in body
    assert "company e-mail addresses" in body
    assert reverse("domains:add") in body


def test_list_shows_status_method_checks_and_countdown(clock, admin_client, owner_and_org):
    _, organization = owner_and_org
    now = clock.now()
    DomainFactory(organization=organization, name="pending.test", pending=True, next_check_at=now + timedelta(minutes=5))
    DomainFactory(organization=organization, name="lapsing.test", failing=True, method=Domain.Method.HTTPS, last_checked_at=now, last_outcome="not_found", failing_since=now - timedelta(days=3), grace_deadline=now + timedelta(days=27, hours=2))
    DomainFactory(organization=organization, name="gone.test", removed=True)
    body = text_of(admin_client.get(reverse("domains:list")))
    assert "pending.test" in body and "lapsing.test" in body
    # A removed domain is listed apart, with when it was removed (links in old e-mails lead to it).
    assert "gone.test</a>: removed on 5 Jan 2026, 09:00 UTC" in body
    assert "Pending verification" in body and "Re-validation required" in body
    assert "HTML file over HTTPS" in body and "DNS TXT record" in body
    assert "Not found" in body
    assert "Re-validate within 28 days (by 1 Feb 2026, 11:00 UTC)" in body
    assert "Its users are removed on 1 Feb 2026, 11:00 UTC unless the record is restored." in body
    assert "5 Jan 2026, 09:05 UTC" in body  # next check


def test_list_rows_escape_names_and_keep_the_ascii_form_outside_the_link(clock, admin_client, owner_and_org):
    """The rows are built in Python (domains/rows.py): names escaped, the ASCII form beside the
    link, the action for the status, "not checked" and "none scheduled" in the reader's language."""
    _, organization = owner_and_org
    odd = DomainFactory(organization=organization, name="xn--bcher-kva.test", unicode_name="bücher<&>.test",
                        last_checked_at=clock.now(), last_outcome="verified")
    fresh = DomainFactory(organization=organization, name="fresh.test", pending=True, last_checked_at=None,
                          next_check_at=None)
    body = admin_client.get(reverse("domains:list")).content.decode()
    detail = reverse("domains:detail", args=[odd.pk])
    assert (
        f'<a href="{detail}">bücher&lt;&amp;&gt;.test</a> <span class="muted mono">xn--bcher-kva.test</span></td>'
    ) in body
    assert '5 Jan 2026, 09:00 UTC <span class="badge verified">Verified</span>' in body
    assert f'<a href="{detail}">Details<span class="visually-hidden"> of bücher&lt;&amp;&gt;.test</span></a>' in body
    row = body.split(">fresh.test</a>", 1)[1].split("</tr>", 1)[0]
    assert '<span class="muted">Not checked yet</span>' in row and '<span class="muted">None scheduled</span>' in row
    verify = reverse("domains:verify", args=[fresh.pk])
    assert f'<a href="{verify}">Verify<span class="visually-hidden"> fresh.test</span></a>' in row
    japanese = admin_client.get(reverse("domains:list"), headers={"accept-language": "ja"}).content.decode()
    assert "Not checked yet" not in japanese and "None scheduled" not in japanese


def test_list_query_count_is_bounded_at_100_domains(admin_client, owner_and_org, django_assert_max_num_queries):
    _, organization = owner_and_org
    Domain.objects.bulk_create(
        [Domain(organization=organization, name=f"d{i:03}.test", unicode_name=f"d{i:03}.test") for i in range(100)]
    )
    with django_assert_max_num_queries(8):
        response = admin_client.get(reverse("domains:list"))
    assert text_of(response).count("<tr>") == 101


# --- Add --------------------------------------------------------------------------------


def test_add_redirects_to_verify_page_and_explains_normalisation(clock, admin_client, owner_and_org):
    response = admin_client.post(reverse("domains:add"), {"domain": "https://Acme.test/about"}, follow=True)
    domain = Domain.objects.get()
    assert domain.name == "acme.test"
    assert response.redirect_chain[-1][0] == reverse("domains:verify", args=[domain.pk])
    body = text_of(response)
    assert "we took only its domain name" in body
    assert domain.txt_value in body


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "Enter a domain"),
        ("192.0.2.10", "IP address"),
        ("intranet", "single name"),
        ("gmail.com", "shared e-mail provider"),
        ("co.uk", "public suffix"),
    ],
)
def test_add_rejections_show_a_message(admin_client, text, expected):
    response = admin_client.post(reverse("domains:add"), {"domain": text})
    assert response.status_code == 200
    assert expected in text_of(response)
    assert 'class="errorlist' in text_of(response)
    assert not Domain.objects.exists()


def test_add_duplicate_names_the_status_and_links_to_it(admin_client, owner_and_org):
    existing = DomainFactory(organization=owner_and_org[1], name="acme.test")
    body = text_of(admin_client.post(reverse("domains:add"), {"domain": "acme.test"}))
    assert "This organization already has acme.test (Verified)." in body
    assert reverse("domains:detail", args=[existing.pk]) in body


def test_add_held_elsewhere_does_not_name_the_other_organization(admin_client, other_org_domain):
    body = text_of(admin_client.post(reverse("domains:add"), {"domain": "globex.test"}))
    assert HELD_ELSEWHERE in body
    assert "Globex" not in body


def test_add_over_the_limit(settings, admin_client, owner_and_org):
    settings.DOMAIN_MAX_PER_ORGANIZATION = 1
    DomainFactory(organization=owner_and_org[1], name="one.test", pending=True)
    body = text_of(admin_client.post(reverse("domains:add"), {"domain": "two.test"}))
    assert "the most allowed" in body
    assert Domain.objects.count() == 1


# --- Verify page ------------------------------------------------------------------------


def test_verify_page_shows_dns_and_html_instructions(settings, admin_client, owner_and_org):
    settings.DOMAIN_TXT_SUGGESTED_TTL = 600
    domain = DomainFactory(organization=owner_and_org[1], name="acme.test", pending=True)
    body = text_of(admin_client.get(reverse("domains:verify", args=[domain.pk])))
    assert "_twilio.acme.test" in body
    assert f">{settings.DOMAIN_TXT_LABEL}<" in body  # for providers that append the zone
    assert f"twilio-domain-verification={domain.token}" in body
    assert ">TXT<" in body
    assert "600 seconds" in body
    assert 'data-copy="#txt-value-' in body
    assert domain.https_url.replace("/", "/<wbr>") in body  # wraps after its slashes
    assert reverse("domains:html_file", args=[domain.pk]) in body
    assert "every 24 hours" in body
    assert "72 hours" in body
    assert "Verify Domain" in body


def test_revalidation_required_button_says_re_validate(clock, admin_client, owner_and_org):
    domain = DomainFactory(organization=owner_and_org[1], name="acme.test", failing=True, grace_deadline=clock.now() + timedelta(days=10, hours=1))
    body = text_of(admin_client.get(reverse("domains:verify", args=[domain.pk])))
    assert ">Re-validate</button>" in body
    assert "Re-validate within 11 days" in body  # 10 days and an hour: rounded up
    assert "will be removed from the organization on 15 Jan 2026, 10:00 UTC" in body


def test_choosing_a_method_is_a_post(admin_client, owner_and_org):
    domain = DomainFactory(organization=owner_and_org[1], name="acme.test", pending=True)
    # GET is only the confirmation page (without JavaScript); it changes nothing.
    confirm = admin_client.get(reverse("domains:method", args=[domain.pk]), {"method": "https"})
    assert confirm.status_code == 200 and "Check the HTML file and switch" in text_of(confirm)
    assert Domain.objects.get(pk=domain.pk).method == Domain.Method.DNS
    response = admin_client.post(reverse("domains:method", args=[domain.pk]), {"method": "https"})
    assert response.status_code == 302
    domain.refresh_from_db()
    assert domain.method == Domain.Method.HTTPS
    body = text_of(admin_client.get(reverse("domains:verify", args=[domain.pk])))
    assert "Use the DNS record instead" in body


def test_html_file_download(settings, admin_client, owner_and_org):
    domain = DomainFactory(organization=owner_and_org[1], name="acme.test", pending=True)
    response = admin_client.get(reverse("domains:html_file", args=[domain.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{settings.DOMAIN_HTML_FILENAME}"'
    assert response.content.decode() == checking.html_file_content(domain.token)
    assert domain.token in response.content.decode()


def test_stored_check_messages_are_rendered_with_their_parameters(clock, admin_client, owner_and_org):
    domain = DomainFactory(organization=owner_and_org[1], name="acme.test", pending=True)
    DomainCheck.objects.create(
        domain=domain,
        method="dns",
        outcome="not_found",
        detail="No TXT record at _twilio.acme.test.",
        detail_message={"text": "No TXT record at %(host)s.", "params": {"host": "_twilio.acme.test"}},
        diagnostics=[{"text": "Found it at %(where)s instead.", "params": {"where": "_twilio.acme.test.acme.test"}}],
        trigger="user",
    )
    verify = text_of(admin_client.get(reverse("domains:verify", args=[domain.pk])))
    detail = text_of(admin_client.get(reverse("domains:detail", args=[domain.pk])))
    for body in (verify, detail):
        assert "No TXT record at _twilio.acme.test." in body
        assert "Found it at _twilio.acme.test.acme.test instead." in body


def test_check_rows_show_each_outcome_trigger_and_message_escaped(clock, admin_client, owner_and_org):
    """The checks table is built in Python (domains/rows.py): labels in the reader's language, the
    triggering admin's address, stored messages with their parameters, every value escaped."""
    owner, organization = owner_and_org
    domain = DomainFactory(organization=organization, name="acme.test", verified_at=clock.now())
    untrusted = {"text": "The HTTPS certificate of %(host)s is not trusted (%(problem)s).",
                 "params": {"host": "acme.test", "problem": "expired"}}
    made = [
        ("verified", "schedule", None, {"text": "Found the record at %(host)s.", "params": {"host": "<i>h</i>"}}, []),
        ("not_found", "user", owner, {}, [{"text": "Found it at %(where)s instead.", "params": {"where": "a&b"}}]),
        ("not_found", "user", owner, untrusted, []),
        ("inconclusive", "schedule", None, {}, []),
    ]
    DomainCheck.objects.bulk_create(
        [
            DomainCheck(domain=domain, method="dns" if outcome != "not_found" else "https", outcome=outcome,
                        trigger=trigger, triggered_by=by, detail="plain <detail>", detail_message=message,
                        diagnostics=diagnostics, duration_ms=1500 + index, checked_at=clock.now() - timedelta(minutes=index))
            for index, (outcome, trigger, by, message, diagnostics) in enumerate(made)
        ]
    )
    body = admin_client.get(reverse("domains:detail", args=[domain.pk])).content.decode()
    rows = body.split('<table class="checks">', 1)[1].split("</table>", 1)[0].split("<tr>")[2:]
    assert len(rows) == 4
    assert '<td class="nowrap">5 Jan 2026, 09:00 UTC</td><td>Schedule</td><td>DNS TXT record</td>' in rows[0]
    assert '<span class="badge verified">Verified</span>' in rows[0]
    assert "Found the record at &lt;i&gt;h&lt;/i&gt;." in rows[0] and '<td class="nowrap">1500 ms</td>' in rows[0]
    assert f'<td>Admin <span class="muted">({owner.email})</span></td><td>HTML file over HTTPS</td>' in rows[1]
    assert '<td><span class="badge not_found">Not found</span></td><td>plain &lt;detail&gt;' in rows[1]
    assert '<ul class="diagnostics"><li>Found it at a&amp;b instead.</li></ul>' in rows[1]
    assert '<span class="badge not_found">Certificate not trusted</span>' in rows[2]
    assert '<span class="badge inconclusive">Inconclusive</span>' in rows[3] and "muted" not in rows[3]
    japanese = admin_client.get(reverse("domains:detail", args=[domain.pk]), headers={"accept-language": "ja"})
    table = japanese.content.decode().split('<table class="checks">', 1)[1].split("</table>", 1)[0]
    for english in ("Schedule", "Admin", "Verified", "Not found", "Certificate not trusted", "DNS TXT record"):
        assert f">{english}<" not in table, english
    assert "&lt;i&gt;h&lt;/i&gt;" in table


# --- Verify now, against real loopback servers ------------------------------------------


def test_verify_now_with_the_record_published_verifies(clock, admin_client, owner_and_org, dns_server, dns_settings):
    owner, organization = owner_and_org
    domain = DomainFactory(organization=organization, name="acme.test", pending=True)
    dns_server.set_txt(domain.txt_host, domain.txt_value)
    response = admin_client.post(reverse("domains:verify_now", args=[domain.pk]), follow=True)
    domain.refresh_from_db()
    assert domain.status == Domain.Status.VERIFIED
    assert domain.last_verify_click_at == clock.now()
    check = domain.checks.get()
    assert check.trigger == DomainCheck.Trigger.USER and check.triggered_by == owner
    body = text_of(response)
    assert "acme.test is verified." in body
    assert "Next automatic check: " in body
    assert response.redirect_chain[-1][0].endswith("#check-result")  # the result is where the eye lands
    assert AuditEvent.objects.filter(action="domain.verified", target_id=str(domain.pk)).exists()


def test_verify_now_without_the_record_shows_what_was_found(
    clock, admin_client, owner_and_org, dns_server, dns_settings
):
    domain = DomainFactory(organization=owner_and_org[1], name="absent.test", pending=True)
    dns_server.set_txt("_twilio.absent.test", "twilio-domain-verification=0123456789abcdef0123456789abcdef")
    response = admin_client.post(reverse("domains:verify_now", args=[domain.pk]), follow=True)
    domain.refresh_from_db()
    assert domain.status == Domain.Status.PENDING
    check = domain.checks.get()
    assert check.outcome in (DomainCheck.Outcome.NOT_FOUND, DomainCheck.Outcome.MISMATCH)
    body = text_of(response)
    assert "Not verified yet" in body
    assert check.detail_message  # stored as a translatable message, rendered for the reader
    assert escape(rendered_check(check).detail) in body
    assert "Next automatic check: " in body


def test_verify_now_by_html_file_over_https(
    clock, settings, admin_client, owner_and_org, dns_server, dns_settings, https_server, https_settings
):
    domain = DomainFactory(organization=owner_and_org[1], name="files.test", pending=True, method=Domain.Method.HTTPS)
    dns_server.set_a("files.test", "127.0.0.1")
    https_server.put("files.test", f"/{settings.DOMAIN_HTML_FILENAME}", checking.html_file_content(domain.token))
    response = admin_client.post(reverse("domains:verify_now", args=[domain.pk]), follow=True)
    domain.refresh_from_db()
    assert domain.status == Domain.Status.VERIFIED, text_of(response)
    assert domain.checks.get().method == Domain.Method.HTTPS
    assert [seen.path for seen in https_server.requests] == [f"/{settings.DOMAIN_HTML_FILENAME}"]


def test_verify_now_for_a_name_verified_elsewhere_is_refused(admin_client, owner_and_org, other_org_domain):
    domain = DomainFactory(organization=owner_and_org[1], name=other_org_domain.name, pending=True)
    body = text_of(admin_client.post(reverse("domains:verify_now", args=[domain.pk]), follow=True))
    assert HELD_ELSEWHERE in body
    assert not domain.checks.exists()


# --- Details, settings, delete ----------------------------------------------------------


def test_details_page(clock, admin_client, owner_and_org, django_assert_max_num_queries):
    owner, organization = owner_and_org
    domain = DomainFactory(organization=organization, name="acme.test", verified_at=clock.now())
    DomainCheck.objects.bulk_create(
        [
            DomainCheck(
                domain=domain,
                method="dns",
                outcome="verified",
                detail="Found.",
                detail_message={"text": "Found the record at %(host)s.", "params": {"host": domain.txt_host}},
                duration_ms=i,
                trigger="schedule",
                checked_at=clock.now() - timedelta(hours=i),
            )
            for i in range(60)
        ]
    )
    with django_assert_max_num_queries(6):
        response = admin_client.get(reverse("domains:detail", args=[domain.pk]))
    body = text_of(response)
    assert "Verified since" in body and "5 Jan 2026, 09:00 UTC" in body
    assert body.count("Found the record at _twilio.acme.test.") == 50
    assert domain.txt_value in body
    assert "automatically add new users who sign up with this domain" in body.lower()
    assert 'data-dialog="#delete-dialog"' in body
    assert "Existing members stay" in body
    assert 'id="import-users"' in body  # the Bulk User Import section at the bottom


def test_details_page_lists_the_users_removed_with_an_earlier_row_until_they_are_back(
    clock, admin_client, owner_and_org
):
    _, organization = owner_and_org
    domain = DomainFactory(organization=organization, name="acme.test", verified_at=clock.now())
    removed = {"domain_name": "acme.test", "organization": organization, "removed_at": clock.now()}
    RemovedMember.objects.create(user=UserFactory(email="gone<x>@acme.test"), role="administrator", **removed)
    RemovedMember.objects.create(user=UserFactory(email="back@acme.test"), role="member", added_back_at=clock.now(),
                                 **removed)
    rejoined = RemovedMember.objects.create(user=UserFactory(email="rejoined@acme.test"), role="member", **removed)
    MembershipFactory(organization=organization, user=rejoined.user)
    body = admin_client.get(reverse("domains:detail", args=[domain.pk])).content.decode()
    section = body.split('<section class="removed-members"', 1)[1].split("</section>", 1)[0]
    assert "<tr><td>gone&lt;x&gt;@acme.test</td><td>Administrator</td><td>5 Jan 2026, 09:00 UTC</td></tr>" in section
    assert "back@acme.test" not in section and "rejoined@acme.test" not in section
    assert "Add 1 user back?" in section
    RemovedMember.objects.filter(domain_name="acme.test").update(added_back_at=clock.now())
    body = admin_client.get(reverse("domains:detail", args=[domain.pk])).content.decode()
    assert "removed-members" not in body


def test_settings_form_turns_auto_add_off_and_on(admin_client, owner_and_org):
    domain = DomainFactory(organization=owner_and_org[1], name="acme.test")
    admin_client.post(reverse("domains:settings", args=[domain.pk]), {})
    domain.refresh_from_db()
    assert domain.auto_add_new_users is False
    admin_client.post(reverse("domains:settings", args=[domain.pk]), {"auto_add_new_users": "on"})
    domain.refresh_from_db()
    assert domain.auto_add_new_users is True
    assert AuditEvent.objects.filter(action="domain.settings_changed").count() == 1  # off was the default
    body = text_of(admin_client.get(reverse("domains:detail", args=[domain.pk])))
    assert f"Turned on by {owner_and_org[0].email} on" in body


def test_delete_confirm_page_then_delete_keeps_members(admin_client, owner_and_org):
    owner, organization = owner_and_org
    domain = DomainFactory(organization=organization, name="acme.test")
    page = admin_client.get(reverse("domains:delete", args=[domain.pk]))
    assert page.status_code == 200
    body = text_of(page)
    assert "Admins can no longer add users" in body and "Existing members stay" in body
    domain.refresh_from_db()
    assert domain.status == Domain.Status.VERIFIED  # GET changes nothing
    response = admin_client.post(reverse("domains:delete", args=[domain.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("domains:list")
    domain.refresh_from_db()
    assert domain.status == Domain.Status.REMOVED
    assert domain.removal_reason == f"Deleted by {owner.email}"
    assert Membership.objects.filter(organization=organization, user=owner).exists()
    # The page stays, saying when it was removed (links in old e-mails lead there); the
    # pages that act on a domain are gone.
    removed_page = admin_client.get(reverse("domains:detail", args=[domain.pk]))
    assert removed_page.status_code == 200 and "Removed from the Organization on" in text_of(removed_page)
    assert admin_client.get(reverse("domains:verify", args=[domain.pk])).status_code == 404


# --- Isolation, permissions, CSRF -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("domains:detail", "get"),
        ("domains:verify", "get"),
        ("domains:html_file", "get"),
        ("domains:delete", "get"),
        ("domains:delete", "post"),
        ("domains:verify_now", "post"),
        ("domains:method", "post"),
        ("domains:settings", "post"),
    ],
)
def test_another_organizations_domain_is_404(admin_client, other_org_domain, name, method):
    response = getattr(admin_client, method)(reverse(name, args=[other_org_domain.pk]), {"method": "https"})
    assert response.status_code == 404
    other_org_domain.refresh_from_db()
    assert other_org_domain.status == Domain.Status.VERIFIED
    assert other_org_domain.method == Domain.Method.DNS
    assert not other_org_domain.checks.exists()


def test_other_organizations_domains_are_not_listed(admin_client, other_org_domain):
    assert other_org_domain.name not in text_of(admin_client.get(reverse("domains:list")))


def test_members_and_anonymous_users_are_kept_out(owner_and_org):
    domain = DomainFactory(organization=owner_and_org[1], name="acme.test", pending=True)
    anonymous = Client()
    assert anonymous.get(reverse("domains:list")).status_code == 302
    member, _ = admin_of(OrganizationFactory(name="Member Org"), "member@acme-corp.example", role=Membership.Role.MEMBER)
    client = Client()
    client.force_login(member)
    assert client.get(reverse("domains:list")).status_code == 403
    assert client.get(reverse("domains:detail", args=[domain.pk])).status_code == 403


def test_every_post_needs_the_csrf_token(owner_and_org):
    owner, organization = owner_and_org
    domain = DomainFactory(organization=organization, name="acme.test", pending=True)
    client = Client(enforce_csrf_checks=True)
    assert client.login(email=owner.email, password=PASSWORD)
    posts = [
        (reverse("domains:add"), {"domain": "new.test"}),
        (reverse("domains:verify_now", args=[domain.pk]), {}),
        (reverse("domains:method", args=[domain.pk]), {"method": "https"}),
        (reverse("domains:settings", args=[domain.pk]), {}),
        (reverse("domains:delete", args=[domain.pk]), {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    domain.refresh_from_db()
    assert (domain.status, domain.method, domain.auto_add_new_users) == (Domain.Status.PENDING, "dns", False)
    assert Domain.objects.count() == 1
    # With the token from the form, the same POST works.
    page = client.get(reverse("domains:add"))
    token = page.context["csrf_token"]
    response = client.post(reverse("domains:add"), {"domain": "new.test", "csrfmiddlewaretoken": str(token)})
    assert response.status_code == 302


def test_verify_now_after_re_adding_reports_a_record_with_the_old_token(
    admin_client, owner_and_org, dns_server, dns_settings
):
    """The old tokens of this organization's removed rows reach the check, so a record left
    over from before is explained rather than reported as plain "not found"."""
    owner, organization = owner_and_org
    admin_client.post(reverse("domains:add"), {"domain": "again.test"})
    first = Domain.objects.get(name="again.test")
    dns_server.set_txt(first.txt_host, first.txt_value)
    admin_client.post(reverse("domains:delete", args=[first.pk]))
    admin_client.post(reverse("domains:add"), {"domain": "again.test"})
    second = Domain.objects.active().get(name="again.test")
    assert second.token != first.token

    body = text_of(admin_client.post(reverse("domains:verify_now", args=[second.pk]), follow=True))
    second.refresh_from_db()
    assert second.status == Domain.Status.PENDING
    assert "holds an older token of this domain" in body
    assert escape(second.txt_value) in body


def test_a_verified_domain_offers_automatic_adding_as_a_choice(admin_client, owner_and_org):
    domain = DomainFactory(organization=owner_and_org[1], name="acme.test")
    body = text_of(admin_client.get(reverse("domains:verify", args=[domain.pk])))
    assert "Turn on automatic adding" in body and "Leave it off for now" in body
    assert 'type="checkbox"' not in body.split('id="auto-add"')[1].split("</section>")[0]  # nothing ticked in advance
    assert "Import existing users" in body and "Go to Users" in body
    admin_client.post(reverse("domains:settings", args=[domain.pk]), {"auto_add_new_users": "on"})
    assert Domain.objects.get(pk=domain.pk).auto_add_new_users is True
    assert "Turn on automatic adding" not in text_of(admin_client.get(reverse("domains:verify", args=[domain.pk])))


def test_a_pasted_www_web_address_asks_which_domain_is_meant(admin_client, owner_and_org):
    response = admin_client.post(reverse("domains:add"), {"domain": "https://www.acme.test/about"})
    body = text_of(response)
    assert response.status_code == 200 and not Domain.objects.exists()
    assert "Which domain do you mean?" in body
    assert "Add acme.test" in body and "Keep www.acme.test" in body
    response = admin_client.post(reverse("domains:add"), {"domain": "www.acme.test"})  # "Keep"
    assert response.status_code == 302 and Domain.objects.get().name == "www.acme.test"


def test_an_untrusted_certificate_is_not_labelled_not_found(admin_client, owner_and_org):
    domain = DomainFactory(organization=owner_and_org[1], name="acme.test", pending=True, method=Domain.Method.HTTPS)
    DomainCheck.objects.create(
        domain=domain,
        method="https",
        outcome="not_found",
        detail="The HTTPS certificate of acme.test is not trusted (self-signed).",
        detail_message={
            "text": "The HTTPS certificate of %(host)s is not trusted (%(problem)s).",
            "params": {"host": "acme.test", "problem": "self-signed"},
        },
        trigger="user",
    )
    for url in (reverse("domains:verify", args=[domain.pk]), reverse("domains:detail", args=[domain.pk])):
        body = text_of(admin_client.get(url))
        assert '<span class="badge not_found">Certificate not trusted</span>' in body
        assert '<span class="badge not_found">Not found</span>' not in body.split('id="checks"')[-1]
