"""The lead import through the REST API (POST /api/v1/sales/leads/import/, multipart)
and through the pages (/sales/leads/import/: upload, preview, confirm; the template)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from sales.leads.services_import import COLUMNS
from sales.models import Lead, LeadSource
from sales.tests import factories as f
from tests.api_contract import assert_problem, send_json, snapshot

pytestmark = pytest.mark.django_db

IMPORT = "/api/v1/sales/leads/import/"
PAGE = "/sales/leads/import/"
GOOD = "last_name,title,email\nHopper,Compilers,grace@example.com\nLovelace,Engines,ada@example.com\n"
BAD = "last_name,title,email\nHopper,,grace@example.com\n,Engines,nope\n"


def upload(text: str | bytes, name: str = "leads.csv") -> SimpleUploadedFile:
    data = text.encode() if isinstance(text, str) else text
    return SimpleUploadedFile(name, data, content_type="text/csv")


def post_file(client: APIClient, text: str | bytes, **fields: Any) -> Any:
    return client.post(IMPORT, {"file": upload(text), **fields}, format="multipart")


# --- API ---------------------------------------------------------------------------------


def test_the_api_imports_a_file_and_answers_with_the_counts(api_as, sales_rep):
    # when
    response = post_file(api_as(sales_rep), GOOD)
    # then
    assert response.status_code == 201, response.content
    assert response.json() == {
        "dry_run": False,
        "rows": 2,
        "valid": 2,
        "created": 2,
        "skipped": 0,
        "skipped_rows": [],
        "error_count": 0,
        "row_errors": [],
    }
    assert set(Lead.objects.values_list("source", flat=True)) == {LeadSource.IMPORTED}


def test_a_dry_run_through_the_api_writes_nothing(api_as, sales_rep):
    response = post_file(api_as(sales_rep), GOOD, dry_run="true")
    assert response.status_code == 200
    body = response.json()
    assert (body["dry_run"], body["valid"], body["created"]) == (True, 2, 0)
    assert not Lead.objects.exists()


def test_skipped_duplicates_are_listed_and_nothing_new_answers_200(api_as, sales_rep):
    # given
    existing = f.lead(sales_rep, email="grace@example.com")
    f.lead(sales_rep, email="ada@example.com")
    # when
    response = post_file(api_as(sales_rep), GOOD)
    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["skipped"]) == (0, 2)
    assert body["skipped_rows"][0] == {
        "row": 2,
        "column": "email",
        "message": f"An open lead (#{existing.pk}) already has this e-mail.",
    }


def test_an_invalid_file_answers_400_with_every_row_error_and_writes_nothing(api_as, sales_rep):
    # given
    before = snapshot(Lead)
    # when
    response = post_file(api_as(sales_rep), BAD)
    # then
    body = assert_problem(response, 400, "file")
    assert body["errors"]["file"] == [
        "3 problems in the file; nothing was imported. Fix them and upload it again."
    ]
    assert body["error_count"] == 3
    assert body["row_errors"] == [
        {"row": 2, "column": "title", "message": "Say what the lead is interested in."},
        {"row": 3, "column": "email", "message": "Enter a valid e-mail address."},
        {"row": 3, "column": "last_name", "message": "A lead needs a person's name or an organisation."},
    ]
    assert (body["created"], body["valid"]) == (0, 0)
    assert snapshot(Lead) == before


def test_a_dry_run_of_an_invalid_file_is_a_400_too(api_as, sales_rep):
    body = assert_problem(post_file(api_as(sales_rep), BAD, dry_run="true"), 400, "file")
    assert body["dry_run"] is True
    assert body["error_count"] == 3


def test_a_file_level_problem_has_a_row_error_without_a_row(api_as, sales_rep):
    body = assert_problem(post_file(api_as(sales_rep), b"\xff\xfelast_name"), 400, "file")
    assert body["row_errors"] == [{"row": None, "column": "", "message": body["row_errors"][0]["message"]}]
    assert body["row_errors"][0]["message"].startswith("The file is not UTF-8 text")
    assert body["errors"]["file"][0].startswith("The file: The file is not UTF-8 text")


def test_the_answer_lists_the_first_500_row_errors_and_counts_them_all(api_as, sales_rep):
    text = "last_name,title\n" + "Hopper,\n" * 600
    body = assert_problem(post_file(api_as(sales_rep), text), 400, "file")
    assert body["error_count"] == 600
    assert len(body["row_errors"]) == 500


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "file"),
        ({"file": "not a file"}, "file"),
        ({"file": upload(GOOD), "dry_run": "perhaps"}, "dry_run"),
        ({"file": upload(GOOD), "owner": "rep"}, "owner"),
    ],
)
def test_bad_requests_are_400_with_the_field(api_as, sales_rep, body, field):
    response = api_as(sales_rep).post(IMPORT, body, format="multipart")
    assert_problem(response, 400, field)
    assert not Lead.objects.exists()


def test_a_json_body_is_415(api_as, sales_rep):
    response = send_json(api_as(sales_rep), "post", IMPORT, {"file": GOOD})
    assert_problem(response, 415)


def test_an_upload_beyond_the_size_limit_is_413_before_it_is_read(api_as, sales_rep):
    big = b"last_name,title\n" + b"Hopper,Compilers\n" * 130_000  # 2.2 MB
    response = post_file(api_as(sales_rep), big)
    assert_problem(response, 413)
    assert not Lead.objects.exists()


def test_the_import_needs_authentication(api):
    assert_problem(post_file(api, GOOD), 401)
    assert not Lead.objects.exists()


@pytest.mark.parametrize("actor", ["agent", "back_office", "nobody"])
def test_the_import_is_refused_to_actors_who_may_not_add_leads(api_as, actor, request):
    response = post_file(api_as(request.getfixturevalue(actor)), GOOD)
    assert_problem(response, 403)
    assert not Lead.objects.exists()


def test_marketing_may_import_leads_into_the_unassigned_pool(api_as, marketer):
    response = post_file(api_as(marketer), GOOD)
    assert response.status_code == 201
    assert set(Lead.objects.values_list("owner", flat=True)) == {None}


def test_the_schema_documents_the_import_as_multipart_with_its_answers():
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/v1/sales/leads/import/"]["post"]
    assert "multipart/form-data" in operation["requestBody"]["content"]
    assert {"200", "201", "400", "401", "403", "413"} <= set(operation["responses"])
    problem = operation["responses"]["400"]["content"]["application/problem+json"]["schema"]["$ref"]
    assert problem.endswith("/LeadImportProblem")


# --- pages ---------------------------------------------------------------------------------


def page_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def html(response: Any) -> str:
    return response.content.decode()


def test_the_lead_list_links_to_the_import_for_those_who_may_add_leads(sales_rep, agent):
    assert 'href="/sales/leads/import/"' in html(page_client(sales_rep).get("/sales/leads/"))
    supervisor_view = page_client(agent).get("/sales/leads/")
    assert supervisor_view.status_code == 403  # an agent does not even see leads


def test_the_import_page_offers_the_upload_the_template_and_the_columns(sales_rep):
    response = page_client(sales_rep).get(PAGE)
    page = html(response)
    assert response.status_code == 200
    assert 'type="file"' in page
    assert 'href="/sales/leads/import/template.csv"' in page
    for column in COLUMNS:
        assert f"<code>{column}</code>" in page


def test_the_template_is_a_csv_with_the_header_row(sales_rep):
    response = page_client(sales_rep).get("/sales/leads/import/template.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    assert response.content.decode() == ",".join(COLUMNS) + "\r\n"


def test_uploading_shows_a_preview_and_writes_nothing(sales_rep):
    # given
    f.lead(sales_rep, email="ada@example.com")
    # when
    response = page_client(sales_rep).post(PAGE, {"file": upload(GOOD)})
    # then
    page = html(response)
    assert response.status_code == 200
    assert "2 rows read: <strong>1 lead to import</strong>, 1 skipped." in page
    assert "Hopper" in page
    assert "already has this e-mail" in page
    assert 'id="import-confirm"' in page
    assert "Import 1 lead<" in page
    assert Lead.objects.count() == 1


def test_confirming_the_preview_imports_and_shows_the_imported_leads(sales_rep):
    # given: the preview's confirm form
    client = page_client(sales_rep)
    preview = client.post(PAGE, {"file": upload(GOOD)})
    content = preview.context["confirm"].initial["content"]
    # when
    response = client.post(PAGE, {"confirm": "1", "content": content, "filename": "leads.csv"}, follow=True)
    # then
    assert response.redirect_chain[-1][0] == "/sales/leads/?source=imported"
    assert "Imported 2 leads." in html(response)
    assert Lead.objects.filter(source=LeadSource.IMPORTED).count() == 2


def test_a_lead_created_between_preview_and_confirm_is_skipped_not_duplicated(sales_rep):
    client = page_client(sales_rep)
    content = client.post(PAGE, {"file": upload(GOOD)}).context["confirm"].initial["content"]
    f.lead(sales_rep, email="grace@example.com")
    # when
    response = client.post(PAGE, {"confirm": "1", "content": content}, follow=True)
    # then
    assert "Imported 1 lead; skipped 1 with the e-mail of an open lead." in html(response)
    assert Lead.objects.filter(email="grace@example.com").count() == 1


def test_an_invalid_file_shows_every_problem_and_the_upload_again(sales_rep):
    # when
    response = page_client(sales_rep).post(PAGE, {"file": upload(BAD, "march.csv")})
    # then
    page = html(response)
    assert response.status_code == 400
    assert "march.csv: nothing was imported" in page
    assert "3 problems to fix" in page
    assert "<tr><td>3</td><td>email</td><td>Enter a valid e-mail address.</td></tr>" in page
    assert 'id="import-confirm"' not in page
    assert 'type="file"' in page
    assert not Lead.objects.exists()


def test_a_preview_where_every_row_is_a_duplicate_offers_nothing_to_confirm(sales_rep):
    f.lead(sales_rep, email="grace@example.com")
    f.lead(sales_rep, email="ada@example.com")
    page = html(page_client(sales_rep).post(PAGE, {"file": upload(GOOD)}))
    assert "Nothing new to import" in page
    assert 'id="import-confirm"' not in page


def test_posting_without_a_file_asks_for_one(sales_rep):
    response = page_client(sales_rep).post(PAGE, {})
    assert response.status_code == 400
    assert "Choose a CSV file to import." in html(response)


def test_a_confirm_without_its_content_sends_back_to_the_upload(sales_rep):
    response = page_client(sales_rep).post(PAGE, {"confirm": "1"}, follow=True)
    assert response.redirect_chain[-1][0] == PAGE
    assert "choose the file again" in html(response)
    assert not Lead.objects.exists()


@pytest.mark.parametrize("url", [PAGE, f"{PAGE}template.csv"])
def test_the_import_pages_are_refused_to_those_who_may_not_add_leads(agent, url):
    assert page_client(agent).get(url).status_code == 403
    assert page_client(agent).post(PAGE, {"file": upload(GOOD)}).status_code == 403
    assert not Lead.objects.exists()


def test_the_import_page_needs_a_login():
    response = Client().get(PAGE)
    assert response.status_code == 302
    assert "/login" in response["Location"]
