"""`frontoffice.reversing.reverse_kept` and the `{% url %}` every template uses: the URL
Django's `reverse()` gives, reversed once per name, arguments, script prefix, URLconf
and current app, and again whenever any of them differs."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.template import RequestContext, Template, engines
from django.test import override_settings
from django.test.client import RequestFactory
from django.urls import NoReverseMatch, clear_script_prefix, reverse, set_script_prefix

from frontoffice import reversing
from frontoffice.reversing import reverse_kept


@pytest.fixture(autouse=True)
def _nothing_kept() -> Any:
    reversing.forget()
    yield
    reversing.forget()
    clear_script_prefix()


@pytest.fixture
def reverses() -> Any:
    """Django's reverse() as reverse_kept calls it, counted."""
    with mock.patch.object(reversing, "reverse", wraps=reverse) as counted:
        yield counted


def test_it_answers_what_reverse_answers_and_reverses_each_url_once(reverses: Any) -> None:
    # when: the same URLs are asked for three times
    for _ in range(3):
        assert reverse_kept("dashboard") == reverse("dashboard")
        assert reverse_kept("api_token_revoke", ["abc"]) == reverse("api_token_revoke", args=["abc"])
        assert reverse_kept("api_token_revoke", kwargs={"token_id": "abc"}) == reverse(
            "api_token_revoke", kwargs={"token_id": "abc"}
        )
    # then: each was reversed once (args and kwargs are different keys)
    assert reverses.call_count == 3
    # and: other arguments are other URLs
    assert reverse_kept("api_token_revoke", ["xyz"]) == reverse("api_token_revoke", args=["xyz"])
    assert reverses.call_count == 4


def test_an_argument_equal_but_of_another_type_is_reversed_on_its_own(reverses: Any) -> None:
    # 1 and True are equal dictionary keys; a URL may spell them differently
    assert reverse_kept("api_token_revoke", [1]) == reverse("api_token_revoke", args=[1])
    assert reverse_kept("api_token_revoke", [True]) == reverse("api_token_revoke", args=[True])
    assert reverses.call_count == 2


def test_another_script_prefix_gives_its_own_url() -> None:
    # given: the URL kept under the root prefix
    plain = reverse_kept("dashboard")
    # when: the app is served under /crm/ (a request's SCRIPT_NAME)
    set_script_prefix("/crm/")
    # then: the URL carries the prefix, and the root's is unchanged
    assert reverse_kept("dashboard") == "/crm" + plain
    clear_script_prefix()
    assert reverse_kept("dashboard") == plain


def test_a_name_that_does_not_reverse_raises_each_time(reverses: Any) -> None:
    for _ in range(2):
        with pytest.raises(NoReverseMatch):
            reverse_kept("no-such-view")
        with pytest.raises(NoReverseMatch):
            reverse_kept("api_token_revoke")  # its argument missing
    assert reverses.call_count == 4


def test_an_unhashable_argument_is_reversed_each_time(reverses: Any) -> None:
    class Unhashable(str):
        __hash__ = None  # type: ignore[assignment]

    for _ in range(2):
        assert reverse_kept("api_token_revoke", [Unhashable("abc")]) == reverse(
            "api_token_revoke", args=["abc"]
        )
    assert reverses.call_count == 2


def test_another_urlconf_is_not_answered_from_what_was_kept() -> None:
    # given: the project's dashboard URL kept
    assert reverse_kept("dashboard") == "/"
    # when: the URLs are another module's (as a test's override does), where the name is unknown
    with override_settings(ROOT_URLCONF="frontoffice.urls"), pytest.raises(NoReverseMatch):
        reverse_kept("dashboard")
    # then: back on the project's URLs
    assert reverse_kept("dashboard") == "/"


def test_it_keeps_at_most_max_kept_urls(reverses: Any) -> None:
    # when: one more URL than it keeps is reversed
    for n in range(reversing.MAX_KEPT + 1):
        reverse_kept("api_token_revoke", [f"t{n}"])
    assert reverses.call_count == reversing.MAX_KEPT + 1
    # then: the newest is kept, the oldest was dropped (reversed again)
    reverse_kept("api_token_revoke", [f"t{reversing.MAX_KEPT}"])
    assert reverses.call_count == reversing.MAX_KEPT + 1
    reverse_kept("api_token_revoke", ["t0"])
    assert reverses.call_count == reversing.MAX_KEPT + 2


# --- {% url %} -----------------------------------------------------------------------------


def _render(source: str, **context: Any) -> str:
    return engines["django"].from_string(source).render(context)


def test_every_templates_url_tag_is_the_kept_one(reverses: Any) -> None:
    # when: a template with no {% load %} reverses the same URLs twice
    html = _render("{% url 'dashboard' %} {% url 'api_token_revoke' token %}", token="abc")
    again = _render("{% url 'dashboard' %} {% url 'api_token_revoke' token %}", token="abc")
    # then: Django's URLs, each reversed once
    assert html == again == f"{reverse('dashboard')} {reverse('api_token_revoke', args=['abc'])}"
    assert reverses.call_count == 2


def test_the_url_tag_keeps_djangos_behaviour() -> None:
    # `as var`: the URL in the variable; one that does not reverse leaves it empty
    assert _render("{% url 'dashboard' as home %}[{{ home }}]") == f"[{reverse('dashboard')}]"
    assert _render("{% url 'no-such-view' as nowhere %}[{{ nowhere }}]") == "[]"
    # without `as`, a name that does not reverse is an error, as with Django's tag
    with pytest.raises(NoReverseMatch):
        _render("{% url 'no-such-view' %}")
    # keyword arguments, and a value from the context escaped as Django escapes it
    assert _render("{% url 'api_token_revoke' token_id=t %}", t="a&b") == reverse(
        "api_token_revoke", kwargs={"token_id": "a&b"}
    ).replace("&", "&amp;")
    assert _render(
        "{% autoescape off %}{% url 'api_token_revoke' token_id=t %}{% endautoescape %}", t="a&b"
    ) == (reverse("api_token_revoke", kwargs={"token_id": "a&b"}))


def test_the_url_tag_passes_the_requests_current_app() -> None:
    # given: a request whose current app is set (Django's tag reads it for namespaces)
    request = RequestFactory().get("/")
    request.current_app = "admin"  # type: ignore[attr-defined]
    template = Template("{% url 'admin:index' %}")
    with mock.patch.object(reversing, "reverse", wraps=reverse) as counted:
        html = template.render(RequestContext(request))
    # then: reversed with it, as Django's tag would
    assert html == reverse("admin:index", current_app="admin")
    assert counted.call_args.kwargs["current_app"] == "admin"
