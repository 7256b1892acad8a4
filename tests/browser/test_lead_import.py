"""A rep imports leads from a CSV file: a file with a bad row shows every problem and
imports nothing; the corrected file previews, and confirming imports it. axe checks the
error and the preview pages."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from sales.models import Lead, LeadSource
from tests.browser.conftest import assert_accessible, screenshot
from tests.browser.test_journey import log_in
from tests.fixtures import Role, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEADER = "first_name,last_name,organisation_name,email,phone,title,owner\n"
GOOD_ROWS = (
    "Grace,Hopper,Navy Labs,grace@example.com,020 7946 0000,Compilers,rita\n"
    "Ada,Lovelace,,ada@example.com,,Difference engines,\n"
)


def test_a_rep_fixes_a_bad_file_then_previews_and_imports_it(
    page: Any, transactional_db: Any, tmp_path
) -> None:
    # given
    make_user("rita", Role.SALES, first_name="Rita", last_name="Rep")
    bad = tmp_path / "fair-leads.csv"
    bad.write_text(HEADER + GOOD_ROWS + "Alan,Turing,,alan@,,,\n", encoding="utf-8")
    good = tmp_path / "fair-leads-fixed.csv"
    good.write_text(HEADER + GOOD_ROWS + "Alan,Turing,,alan@example.com,,Bombes,\n", encoding="utf-8")
    log_in(page, "rita", "pw-rita")
    # when: the rep uploads a file with a bad row
    page.get_by_role("link", name="Leads").click()
    page.get_by_role("link", name="Import leads").click()
    page.get_by_label("CSV file").set_input_files(str(bad))
    page.get_by_role("button", name="Preview").click()
    # then: every problem, with its row and column; nothing imported
    expect(page.locator("#import-errors")).to_contain_text("fair-leads.csv: nothing was imported")
    table = page.locator("#import-error-table")
    expect(table).to_contain_text("Enter a valid e-mail address.")
    expect(table).to_contain_text("Say what the lead is interested in.")
    assert_accessible(page, "lead import errors")
    screenshot(page, "lead-import-errors")
    assert not Lead.objects.exists()
    # when: the corrected file
    page.get_by_label("CSV file").set_input_files(str(good))
    page.get_by_role("button", name="Preview").click()
    # then: a preview, still nothing written
    expect(page.locator("#import-summary")).to_contain_text("3 leads to import")
    expect(page.locator("#import-preview-table")).to_contain_text("+442079460000")
    assert_accessible(page, "lead import preview")
    screenshot(page, "lead-import-preview")
    assert not Lead.objects.exists()
    # when: confirmed
    page.get_by_role("button", name="Import 3 leads").click()
    # then: the imported leads, listed
    expect(page.get_by_role("heading", level=1)).to_have_text("Leads")
    expect(page.locator(".messages")).to_contain_text("Imported 3 leads.")
    expect(page.get_by_role("link", name="Grace Hopper (Navy Labs)")).to_be_visible()
    assert Lead.objects.filter(source=LeadSource.IMPORTED).count() == 3
    assert Lead.objects.get(last_name="Hopper").owner.username == "rita"
