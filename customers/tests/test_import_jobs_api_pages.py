"""The customer import as jobs (a worker runs large files, once), through the REST API
(POST /api/v1/customers/imports/, multipart; GET a job; the template; the schema) and
through the pages (/customers/import/: upload, preview, confirm, progress)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from customers import services_import_jobs as jobs
from customers.api_import import CustomerImportInput
from customers.choices import ImportStatus
from customers.import_rows import COLUMNS
from customers.models import ContactPoint, Customer, CustomerImport
from customers.tasks import run_customer_import
from frontoffice.csv_upload import MULTIPART_SLACK
from tests.api_contract import assert_problem, snapshot

pytestmark = pytest.mark.django_db

API = "/api/v1/customers/imports/"
PAGE = "/customers/import/"
GOOD = "last_name,email\nHopper,grace@example.com\nLovelace,ada@example.com\n"
BAD = "last_name,email\nHopper,grace@example.com\nLovelace,nope\n"


@pytest.fixture(autouse=True)
def _files(settings: Any, tmp_path: Any) -> None:
    settings.VAR_DIR = tmp_path  # the uploaded files are kept under VAR_DIR/imports


def upload(text: str | bytes, name: str = "customers.csv") -> SimpleUploadedFile:
    data = text.encode() if isinstance(text, str) else text
    return SimpleUploadedFile(name, data, content_type="text/csv")


def post_file(client: APIClient, text: str | bytes, **fields: Any) -> Any:
    return client.post(API, {"file": upload(text), **fields}, format="multipart")


# --- jobs: a worker runs them once ----------------------------------------------------------


def test_a_large_file_is_queued_and_a_worker_imports_it(marketer, django_capture_on_commit_callbacks):
    # when: a file over the inline size
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.customer_import_submit(actor=marketer, file=upload(GOOD), filename="big.csv", inline=False)
    # then: the worker (eager Celery, after commit) imported it
    job.refresh_from_db()
    assert (job.status, job.created_count, job.rows, job.created_by) == (ImportStatus.DONE, 2, 2, marketer)
    assert job.started_at is not None
    assert job.finished_at is not None
    assert Customer.objects.count() == 2


def test_a_task_run_twice_or_retried_after_success_imports_once(marketer):
    # given
    job = jobs.customer_import_submit(actor=marketer, file=upload(GOOD), filename="a.csv", inline=False)
    # when: the task is delivered twice (acks_late redelivery, a duplicate)
    assert run_customer_import.apply(args=[job.pk]).get() == ImportStatus.DONE
    before = (snapshot(Customer), snapshot(ContactPoint))
    assert run_customer_import.apply(args=[job.pk]).get() == "nothing to do"
    # then
    assert (snapshot(Customer), snapshot(ContactPoint)) == before
    assert Customer.objects.count() == 2


def test_a_job_left_running_by_a_crashed_worker_is_run_by_the_retry(marketer):
    # given: claimed, then the worker died before its transaction committed (nothing written)
    job = jobs.customer_import_submit(actor=marketer, file=upload(GOOD), filename="a.csv", inline=False)
    CustomerImport.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING)
    # when
    run_customer_import.apply(args=[job.pk])
    # then
    job.refresh_from_db()
    assert (job.status, job.created_count) == (ImportStatus.DONE, 2)


def test_a_failing_import_marks_the_job_failed_and_writes_nothing(marketer, monkeypatch):
    job = jobs.customer_import_submit(actor=marketer, file=upload(GOOD), filename="a.csv", inline=False)

    def broken(**kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(jobs, "customer_import", broken)
    with pytest.raises(RuntimeError):
        run_customer_import.apply(args=[job.pk], throw=True)
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.report["row_errors"][0]["message"].startswith("The import broke")
    assert Customer.objects.count() == 0


def test_a_refused_file_keeps_its_report_on_the_job(marketer):
    job = jobs.customer_import_submit(actor=marketer, file=upload(BAD), filename="bad.csv")
    assert (job.status, job.error_count, job.created_count) == (ImportStatus.REFUSED, 1, 0)
    assert job.report["row_errors"] == [
        {"row": 3, "column": "email", "message": "Enter a valid e-mail address."}
    ]


def test_a_preview_then_its_confirmation_imports_the_same_file(marketer):
    preview = jobs.customer_import_submit(actor=marketer, file=upload(GOOD), filename="a.csv", dry_run=True)
    assert (preview.status, preview.report["valid"], Customer.objects.count()) == (ImportStatus.DONE, 2, 0)
    job = jobs.customer_import_confirm(actor=marketer, import_id=preview.pk)
    assert (job.status, job.created_count, job.dry_run) == (ImportStatus.DONE, 2, False)


# --- API -------------------------------------------------------------------------------------


def test_the_api_imports_a_small_file_at_once(api_as, marketer):
    response = post_file(api_as(marketer), GOOD)
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["created_count"], body["report"]["valid"]) == ("done", 2, 2)
    assert api_as(marketer).get(f"{API}{body['id']}/").json()["created_count"] == 2


def test_a_dry_run_answers_200_and_writes_nothing(api_as, marketer):
    response = post_file(api_as(marketer), GOOD, dry_run="true")
    assert response.status_code == 200
    assert response.json()["report"]["preview"][0]["name"] == "Hopper"
    assert Customer.objects.count() == 0


def test_a_bad_row_answers_400_with_the_report_and_writes_nothing(api_as, marketer):
    response = post_file(api_as(marketer), BAD)
    assert response.status_code == 400
    body = response.json()
    assert body["title"] == "The file cannot be imported."
    assert body["job"]["report"]["row_errors"] == [
        {"row": 3, "column": "email", "message": "Enter a valid e-mail address."}
    ]
    assert Customer.objects.count() == 0


def test_a_large_file_answers_202_with_the_job_to_follow(api_as, marketer, monkeypatch):
    monkeypatch.setattr(jobs, "INLINE_MAX_BYTES", 10)
    response = post_file(api_as(marketer), GOOD)
    assert response.status_code == 202
    assert response["Location"].endswith(f"{API}{response.json()['id']}/")
    assert response.json()["status"] == "queued"


def test_an_upload_beyond_the_size_limit_is_413_before_it_is_read(api_as, marketer, monkeypatch):
    # given: a limit of 1 MB, and a file whose body passes it and the multipart framing
    monkeypatch.setattr(CustomerImportInput, "max_bytes", 1024 * 1024)
    big = "last_name,email\n" + "Hopper,grace@example.com\n" * ((1024 * 1024 + MULTIPART_SLACK) // 25 + 1)
    # when
    response = post_file(api_as(marketer), big)
    # then
    body = assert_problem(response, 413)
    assert (body["type"].rsplit("/", 1)[-1], body["detail"]) == (
        "payload_too_large",
        "At most 1 MB: split the file into smaller ones.",
    )
    assert not CustomerImport.objects.exists()
    assert Customer.objects.count() == 0


def test_a_job_is_seen_by_its_sender_only(api_as, marketer, supervisor):
    job_id = post_file(api_as(marketer), GOOD).json()["id"]
    assert api_as(supervisor).get(f"{API}{job_id}/").status_code == 404
    assert [j["id"] for j in api_as(marketer).get(API).json()["results"]] == [job_id]


def test_a_sales_rep_may_not_import(api_as, sales_rep):
    assert post_file(api_as(sales_rep), GOOD).status_code == 403
    assert api_as(sales_rep).get(f"{API}template/").status_code == 403
    assert Customer.objects.count() == 0


def test_unknown_query_parameters_are_refused(api_as, marketer):
    response = api_as(marketer).get(API, {"colour": "red"})
    assert response.status_code == 400
    assert "colour" in response.json()["errors"]


def test_the_template_names_the_columns(api_as, marketer):
    response = api_as(marketer).get(f"{API}template/")
    assert response.status_code == 200
    assert response.content.decode() == ",".join(COLUMNS) + "\r\n"


def test_the_schema_documents_the_import_as_multipart_with_its_answers():
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"][API]["post"]
    assert list(operation["requestBody"]["content"]) == ["multipart/form-data"]
    body = operation["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    assert body.endswith("/CustomerImportInputRequest")
    assert {"200", "201", "202", "400", "403"} <= set(operation["responses"])
    assert f"{API}{{id}}/" in schema["paths"]
    assert f"{API}template/" in schema["paths"]


# --- pages -------------------------------------------------------------------------------------


def page_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_customer_list_links_to_the_import_for_those_who_may(marketer, sales_rep):
    assert "customers-import-link" in page_client(marketer).get("/customers/").content.decode()
    assert "customers-import-link" not in page_client(sales_rep).get("/customers/").content.decode()


def test_the_import_page_offers_the_upload_the_template_and_the_columns(marketer):
    html = page_client(marketer).get(PAGE).content.decode()
    assert 'type="file"' in html
    assert "<label" in html
    assert "/customers/import/template.csv" in html
    assert all(f"<code>{name}</code>" in html for name in COLUMNS)


def test_upload_preview_confirm_imports_the_file(marketer):
    client = page_client(marketer)
    # when: the upload
    response = client.post(PAGE, {"file": upload(GOOD + "Again,GRACE@example.com\n")})
    # then: the preview, nothing written
    assert response.status_code == 302
    preview = client.get(response["Location"]).content.decode()
    assert "2 customers to import" in preview
    assert "1 skipped" in preview
    assert "Row 2 has the same e-mail." in preview
    assert Customer.objects.count() == 0
    # when: the confirmation
    job = CustomerImport.objects.get()
    done = client.post(f"{PAGE}{job.pk}/confirm/", follow=True).content.decode()
    # then
    assert "2 customers created" in done
    assert Customer.objects.count() == 2


def test_a_bad_file_shows_its_problems(marketer):
    client = page_client(marketer)
    response = client.post(PAGE, {"file": upload(BAD)}, follow=True)
    html = response.content.decode()
    assert "nothing was imported" in html
    assert "Enter a valid e-mail address." in html


def test_a_running_job_is_polled_and_the_page_reloads_when_it_is_over(marketer):
    client = page_client(marketer)
    job = jobs.customer_import_submit(actor=marketer, file=upload(GOOD), filename="a.csv", inline=False)
    html = client.get(f"{PAGE}{job.pk}/").content.decode()
    assert 'hx-trigger="every 2s"' in html
    assert "waiting for a worker" in html
    run_customer_import.apply(args=[job.pk])
    response = client.get(f"{PAGE}{job.pk}/", HTTP_HX_REQUEST="true")
    assert (response.status_code, response["HX-Refresh"]) == (204, "true")


def test_the_import_pages_are_refused_to_those_who_may_not_import(sales_rep):
    client = page_client(sales_rep)
    assert client.get(PAGE).status_code == 403
    assert client.get(f"{PAGE}template.csv").status_code == 403


def test_a_job_page_of_someone_else_is_not_found(marketer, supervisor):
    job = jobs.customer_import_submit(actor=marketer, file=upload(GOOD), filename="a.csv")
    assert page_client(supervisor).get(f"{PAGE}{job.pk}/").status_code == 404
