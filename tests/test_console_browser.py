"""The console as an admin meets it, in headless Chromium, in English and Japanese, on a
desktop and on a phone (390×844): selective import, copy buttons, Verify looking at both
methods, a safe method change, the stakes of a lapse, and the phone layout."""

import re

import pytest
from celery import current_app as app
from playwright.sync_api import expect

from console.models import Membership
from console.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from domains import checking
from domains.models import Domain
from domains.tests.factories import DomainFactory
from imports import services as import_services
from imports.models import ImportJob, ImportRow
from tests.support.console_pages import language_cookie, session_cookie

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

# What the page says, per language.
WORDS = {
    "en": {
        "selected": "3 users selected",
        "import_selected": "Import the 3 selected users",
        "import_all": "Import all 6 eligible users",
        "progress": "0 of 3 processed",
        "imported": "3 of the 3 selected users were imported.",
        "not_selected": "not selected",
        "copied": "Copied",
        "copy_names": ["Copy host", "Copy short host", "Copy value", "Copy address"],
        "verify": "Verify Domain",
        "verified_by_dns": "It was verified by the DNS TXT record",
        "switch_to_file": "Switch to the HTML file…",
        "check_file_and_switch": "Check the HTML file and switch",
        "not_switched": "We did not switch",
        "lapse_title": "A domain needs re-validation",
        "removed_on": "will be removed from the organization on",
        "deadline": "4 Feb 2026, 09:00 UTC",
        "delete_removes_no_one": "removes no one",
        "sign_out": "Sign out",
    },
    "ja": {
        "selected": "3 人を選択中",
        "import_selected": "選択した 3 人をインポート",
        "import_all": "対象ユーザー 6 人をすべてインポート",
        "progress": "3 人中 0 人を処理しました",
        "imported": "選択した 3 人のうち 3 人をインポートしました。",
        "not_selected": "選択外",
        "copied": "コピーしました",
        "copy_names": ["ホストをコピー", "短いホスト名をコピー", "値をコピー", "アドレスをコピー"],
        "verify": "ドメインを検証",
        "verified_by_dns": "DNS TXT レコード で検証できたため",
        "switch_to_file": "HTML ファイルに切り替える…",
        "check_file_and_switch": "HTML ファイルを確認して切り替える",
        "not_switched": "切り替えていません",
        "lapse_title": "1 件のドメインの再検証が必要です",
        "removed_on": "で管理されているユーザーは組織から削除されます",
        "deadline": "2026年2月4日 9:00 UTC",
        "delete_removes_no_one": "誰も削除されません",
        "sign_out": "サインアウト",
    },
}

VIEWPORTS = [pytest.param(DESKTOP, id="desktop"), pytest.param(PHONE, id="phone")]
LANGUAGES = ["en", "ja"]


@pytest.fixture
def admin_page(browser, live_server, request):
    """A page for (language, viewport) signed in as `admin_page.user` once set."""
    contexts = []

    def open_page(user, *, language, viewport, javascript=True):
        context = browser.new_context(
            base_url=live_server.url, viewport=viewport, locale="en-US", java_script_enabled=javascript
        )
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
        context.add_cookies([language_cookie(language, live_server.url), session_cookie(user, live_server.url)])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15000)
        return page

    yield open_page
    for context in contexts:
        context.close()


def owner_of(organization, email="owner@example.com"):
    return MembershipFactory(organization=organization, role=Membership.Role.OWNER, user__email=email).user


# --- 1. Selective import -----------------------------------------------------------------


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_ticks_count_live_are_kept_and_import_only_the_selected_users(admin_page, language, viewport):
    words = WORDS[language]
    organization = OrganizationFactory(name="Acme", features=["bulk_user_import"])
    owner = owner_of(organization)
    domain = DomainFactory(organization=organization, name="example.com")
    for name in ("ann", "ben", "cat", "dan", "eve", "fay"):
        UserFactory(email=f"{name}@example.com")
    job = import_services.create_report_job(domain=domain, actor=owner, enqueue=False)
    import_services.build_report(job.pk)

    page = admin_page(owner, language=language, viewport=viewport)
    page.goto(f"/imports/job/{job.pk}/")
    count = page.locator(".start .selection-count")
    for email in ("ann@example.com", "cat@example.com", "eve@example.com"):
        row = page.locator("table.import-rows tr", has_text=email)
        with page.expect_response(re.compile(r"/select/$")):
            row.locator("input[type=checkbox]").check()
    expect(count).to_have_text(words["selected"])  # counted live, no "Save" step
    primary = page.locator(".start a.button[data-when-selected]")
    expect(primary).to_have_text(words["import_selected"])
    expect(page.locator(".start a.button.secondary")).to_have_text(words["import_all"])

    # Never silently dropped: the ticks are there after a reload.
    page.reload()
    expect(page.locator(".start .selection-count")).to_have_text(words["selected"])
    assert page.locator("table.import-rows input[type=checkbox]:checked").count() == 3

    page.locator(".start a.button[data-when-selected]").click()
    dialog = page.locator("#start-selected-dialog")
    expect(dialog).to_be_visible()
    confirm = dialog.locator("button[type=submit]")
    expect(confirm).to_be_focused()  # the primary, focused action
    expect(confirm).to_have_text(words["import_selected"])
    confirm.click()
    page.locator("progress.import-progress").wait_for()
    expect(page.locator("#job-progress")).to_contain_text(words["progress"])  # this import's users
    job.refresh_from_db()
    assert (job.status, job.selected_only, job.rows_selected) == (ImportJob.Status.IMPORT_QUEUED, True, 3)

    import_services.run_import(job.pk)  # the worker
    expect(page.locator(".summary-imported")).to_contain_text(words["imported"])  # reloaded when done
    imported = set(ImportRow.objects.filter(job=job, result="imported").values_list("email", flat=True))
    assert imported == {"ann@example.com", "cat@example.com", "eve@example.com"}
    # The others are "not selected", not failures.
    expect(page.locator("table.import-rows tr", has_text="ben@example.com")).to_contain_text(words["not_selected"])
    assert page.locator(".summary-not-imported").count() == 0


# --- 2. Copy buttons ----------------------------------------------------------------------


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_copy_button_copies_its_own_value_and_says_so(admin_page, settings, language, viewport):
    words = WORDS[language]
    organization = OrganizationFactory(name="Acme")
    owner = owner_of(organization)
    domain = DomainFactory(organization=organization, name="acme.test", pending=True)
    page = admin_page(owner, language=language, viewport=viewport)
    page.goto(f"/domains/{domain.pk}/verify/")
    buttons = page.locator("button[data-copy]")
    names = [buttons.nth(i).inner_text() for i in range(buttons.count())]
    assert names == words["copy_names"]  # distinct accessible names
    expected = {
        words["copy_names"][0]: domain.txt_host,
        words["copy_names"][1]: settings.DOMAIN_TXT_LABEL,  # the short host that used to copy nothing
        words["copy_names"][2]: domain.txt_value,
        words["copy_names"][3]: domain.https_url,
    }
    for name, value in expected.items():
        button = page.get_by_role("button", name=name)
        button.click()
        expect(page.locator("#live-announcer")).to_have_text(words["copied"])  # announced
        assert page.evaluate("navigator.clipboard.readText()") == value
        page.locator("#live-announcer").evaluate("el => el.textContent = ''")


@pytest.mark.parametrize("language", LANGUAGES)
def test_copy_buttons_are_hidden_without_javascript(admin_page, language):
    organization = OrganizationFactory(name="Acme")
    owner = owner_of(organization)
    domain = DomainFactory(organization=organization, name="acme.test", pending=True)
    page = admin_page(owner, language=language, viewport=DESKTOP, javascript=False)
    page.goto(f"/domains/{domain.pk}/verify/")
    assert page.locator("button[data-copy]").count() == 4
    for index in range(4):
        expect(page.locator("button[data-copy]").nth(index)).to_be_hidden()
    expect(page.locator(f"#txt-label-{domain.pk}")).to_be_visible()  # the value itself stays


# --- 3. Verify looks at both methods ------------------------------------------------------


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_txt_record_verifies_while_the_html_file_is_selected(
    admin_page, dns_server, dns_settings, https_server, https_settings, language, viewport
):
    words = WORDS[language]
    organization = OrganizationFactory(name="Acme")
    owner = owner_of(organization)
    domain = DomainFactory(organization=organization, name="both.test", pending=True, method=Domain.Method.HTTPS)
    dns_server.set_txt(domain.txt_host, domain.txt_value)
    page = admin_page(owner, language=language, viewport=viewport)
    page.goto(f"/domains/{domain.pk}/verify/")
    page.get_by_role("button", name=words["verify"]).click()
    page.wait_for_url(re.compile(r"#check-result$"))
    expect(page.locator(".messages")).to_contain_text(words["verified_by_dns"])
    domain.refresh_from_db()
    assert (domain.status, domain.method) == (Domain.Status.VERIFIED, Domain.Method.DNS)
    assert domain.checks.get().method == "dns"


# --- 4. A method change never sends a verified domain into re-validation ------------------


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_switching_a_verified_domain_to_a_file_not_in_place_changes_nothing(
    admin_page, settings, dns_server, dns_settings, https_server, https_settings, language, viewport
):
    words = WORDS[language]
    organization = OrganizationFactory(name="Acme")
    owner = owner_of(organization)
    domain = DomainFactory(organization=organization, name="keep.test", method=Domain.Method.DNS)
    dns_server.set_txt(domain.txt_host, domain.txt_value)
    dns_server.set_a(domain.name, "127.0.0.1")
    page = admin_page(owner, language=language, viewport=viewport)
    page.goto(f"/domains/{domain.pk}/")
    page.get_by_role("link", name=words["switch_to_file"]).click()
    dialog = page.locator("#method-dialog-https")
    expect(dialog).to_be_visible()  # confirm first, and say what changes
    confirm = dialog.get_by_role("button", name=words["check_file_and_switch"])
    expect(confirm).to_be_focused()
    confirm.click()
    expect(page.locator(".messages")).to_contain_text(words["not_switched"])
    domain.refresh_from_db()
    assert (domain.status, domain.method) == (Domain.Status.VERIFIED, Domain.Method.DNS)

    # With the file in place, the same click switches.
    https_server.put(domain.name, f"/{settings.DOMAIN_HTML_FILENAME}", checking.html_file_content(domain.token))
    page.goto(f"/domains/{domain.pk}/")
    page.get_by_role("link", name=words["switch_to_file"]).click()
    page.locator("#method-dialog-https").get_by_role("button", name=words["check_file_and_switch"]).click()
    page.wait_for_load_state()
    domain.refresh_from_db()
    assert (domain.status, domain.method) == (Domain.Status.VERIFIED, Domain.Method.HTTPS)


# --- 5. The stakes of a lapse -------------------------------------------------------------


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_lapse_says_who_is_removed_and_when_on_every_page(admin_page, clock, language, viewport):
    words = WORDS[language]
    organization = OrganizationFactory(name="Acme")
    owner = owner_of(organization, email="owner@owners.test")
    domain = DomainFactory(organization=organization, name="lapsing.test", failing=True)  # 30 days from now
    page = admin_page(owner, language=language, viewport=viewport)

    page.goto("/")
    alert = page.locator(".lapse-alert")
    expect(alert).to_be_visible()
    expect(alert.locator("h2")).to_have_text(words["lapse_title"])
    expect(alert).to_contain_text(words["removed_on"])
    expect(alert).to_contain_text(words["deadline"])  # date, time and time zone

    page.goto("/domains/")
    expect(page.locator(".lapse-alert")).to_contain_text(words["deadline"])
    expect(page.locator("table.domain-list")).to_contain_text(words["deadline"])

    page.goto(f"/domains/{domain.pk}/")
    expect(page.locator("main .alert")).to_contain_text(words["removed_on"])
    expect(page.locator("main .alert")).to_contain_text(words["deadline"])
    # The Delete card does not contradict it: it says what deleting does to these users.
    expect(page.locator(".danger-zone")).to_contain_text(words["delete_removes_no_one"])
    # It is the last card on the page.
    assert page.locator("main > section.card, main > div.card, main > dl.card").last.get_attribute("class").endswith(
        "danger-zone"
    )


# --- 6. A phone -----------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_on_a_phone_the_navigation_collapses_and_sign_out_is_reachable(admin_page, language):
    words = WORDS[language]
    organization = OrganizationFactory(name="Acme")
    owner = owner_of(organization)
    DomainFactory(organization=organization, name="acme.test")
    page = admin_page(owner, language=language, viewport=PHONE)
    page.goto("/users/")
    navigation = page.locator("nav.sidenav")
    box = navigation.bounding_box()
    assert box["width"] <= PHONE["width"] and box["height"] < 120  # a row of links, not a column
    sign_out = page.get_by_role("button", name=words["sign_out"])
    expect(sign_out).to_be_visible()
    sign_out_box = sign_out.bounding_box()
    assert 0 <= sign_out_box["x"] and sign_out_box["x"] + sign_out_box["width"] <= PHONE["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # A wide table scrolls inside its frame, not the page.
    frame = page.locator(".table-wrap").first
    assert frame.evaluate("el => getComputedStyle(el).overflowX") == "auto"
    sign_out.click()
    page.wait_for_url(re.compile(r"/sign-in/|/$"))


def test_the_language_switch_waits_for_an_explicit_choice(admin_page):
    organization = OrganizationFactory(name="Acme")
    owner = owner_of(organization)
    page = admin_page(owner, language="en", viewport=DESKTOP)
    page.goto("/")
    select = page.locator("#language-select")
    select.focus()
    page.keyboard.press("ArrowDown")  # moving through the options does not submit
    page.wait_for_timeout(300)
    assert page.locator("html").get_attribute("lang") == "en"
    select.select_option("ja")
    page.get_by_role("button", name="Switch").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "ja"


@pytest.fixture(autouse=True)
def _tasks_queued():
    """Imports are queued, not run: the test plays the worker."""
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = previous


