from __future__ import annotations

import pytest
from django.urls import reverse

from resolve.procedures.models import PolicyVersion
from resolve.procedures.selectors import procedure_get, procedure_version_model
from resolve.web.procedures import overview_rows
from resolve.web.tests.factories import PASSWORD, procedure_sample, user_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client):
    user = user_create()
    client.force_login(user)
    return client


class TestSignIn:
    def test_page_shows_the_form(self, client):
        response = client.get("/sign-in/")
        assert response.status_code == 200
        html = response.content.decode()
        assert "<title>Sign in - Resolve</title>" in html
        assert 'autocomplete="username"' in html
        assert 'type="password"' in html
        assert "govuk-error-summary" not in html

    def test_good_credentials_sign_in_and_go_home(self, client):
        user_create()
        response = client.post("/sign-in/", {"username": "iro.jones", "password": PASSWORD})
        assert response.status_code == 302
        assert response["Location"] == reverse("web:home")

    def test_next_is_followed(self, client):
        user_create()
        response = client.post(
            "/sign-in/", {"username": "iro.jones", "password": PASSWORD, "next": "/procedures/"}
        )
        assert response["Location"] == "/procedures/"

    def test_bad_credentials_show_an_error_summary(self, client):
        user_create()
        response = client.post("/sign-in/", {"username": "iro.jones", "password": "wrong"})
        assert response.status_code == 200
        html = response.content.decode()
        assert "<title>Error: Sign in - Resolve</title>" in html
        assert "There is a problem" in html
        assert '<a href="#id_username">Enter a correct username and password</a>' in html
        assert "wrong" not in html  # the password is never echoed

    def test_empty_fields_are_named_in_the_summary_and_inline(self, client):
        response = client.post("/sign-in/", {"username": "", "password": ""})
        html = response.content.decode()
        assert '<a href="#id_username">Enter your username</a>' in html
        assert '<a href="#id_password">Enter your password</a>' in html
        assert 'id="id_username-error"' in html
        assert 'aria-describedby="id_username-error"' in html

    def test_signed_in_user_is_sent_home(self, signed_in):
        response = signed_in.get("/sign-in/")
        assert response.status_code == 302


class TestSignOut:
    def test_get_is_not_allowed(self, signed_in):
        assert signed_in.get("/sign-out/").status_code == 405

    def test_post_signs_out_and_says_so(self, signed_in):
        response = signed_in.post("/sign-out/", follow=True)
        assert response.redirect_chain[-1][0] == reverse("web:sign_in")
        assert "You have signed out" in response.content.decode()
        assert signed_in.get("/procedures/").status_code == 302


class TestHome:
    def test_anonymous_is_asked_to_sign_in(self, client):
        response = client.get("/")
        assert response.status_code == 302
        assert response["Location"].startswith("/sign-in/?next=/")

    def test_home_shows_what_is_waiting_for_someone_with_no_role(self, signed_in):
        response = signed_in.get("/")
        assert response.status_code == 200
        assert "Nothing is waiting on you." in response.content.decode()


class TestLayout:
    def test_navigation_and_sign_out_button(self, signed_in):
        html = signed_in.get("/procedures/").content.decode()
        assert 'href="#main-content"' in html
        assert 'id="main-content"' in html
        assert "govuk-phase-banner" in html
        assert 'aria-current="page"' in html
        assert '<form method="post" action="/sign-out/"' in html
        assert "csrfmiddlewaretoken" in html

    def test_no_inline_script_or_style(self, signed_in, tmp_path):
        version = procedure_sample(tmp_path)
        html = signed_in.get(f"/procedures/{version.key}/").content.decode()
        assert "<script>" not in html
        assert "style=" not in html
        assert "<style" not in html
        assert '<script type="module" src="/static/web/js/application.js">' in html

    def test_navigation_hidden_when_signed_out(self, client):
        html = client.get("/sign-in/").content.decode()
        assert "govuk-service-navigation" not in html


class TestProcedures:
    def test_sign_in_needed(self, client):
        assert client.get("/procedures/").status_code == 302

    def test_list_links_each_procedure(self, signed_in, tmp_path):
        procedure_sample(tmp_path)
        html = signed_in.get("/procedures/").content.decode()
        assert 'href="/procedures/sample/"' in html
        assert "Sample Borough Council" in html

    def test_list_when_none_loaded(self, signed_in):
        PolicyVersion.objects.all().delete()
        assert "No procedures have been loaded yet" in signed_in.get("/procedures/").content.decode()

    def test_every_loaded_procedure_renders(self, signed_in):
        keys = list(PolicyVersion.objects.filter(is_current=True).values_list("key", flat=True))
        for key in keys:
            assert signed_in.get(f"/procedures/{key}/").status_code == 200, key

    def test_detail_shows_the_ladder(self, signed_in, tmp_path):
        procedure_sample(tmp_path)
        response = signed_in.get("/procedures/sample/")
        assert response.status_code == 200
        html = response.content.decode()
        assert 'role="img"' in html
        assert "Stage 2: Service Manager" in html
        assert "At most 20 working days (Stage 1: Team Manager to Stage 4: Director" in html
        assert "Re-opens at: Stage 3: Head of Service" in html
        assert "Director&#x27;s briefing" in html or "Director&#39;s briefing" in html
        assert "The child&#x27;s current care plan" in html or "The child&#39;s current care plan" in html
        assert "Any court order (where it applies)" in html

    def test_unknown_procedure_is_not_found(self, signed_in):
        response = signed_in.get("/procedures/nope/")
        assert response.status_code == 404
        assert "Page not found" in response.content.decode()


class TestErrorPages:
    def test_404_uses_the_govuk_pattern(self, signed_in):
        response = signed_in.get("/no-such-page/")
        assert response.status_code == 404
        html = response.content.decode()
        assert "<title>Page not found - Resolve</title>" in html
        assert "If you typed the web address, check it is correct." in html

    def test_403_page_renders(self, rf):
        from django.core.exceptions import PermissionDenied
        from django.views.defaults import permission_denied

        request = rf.get("/")
        response = permission_denied(request, PermissionDenied())
        assert response.status_code == 403
        assert "You do not have access to this page" in response.content.decode()

    def test_500_page_renders_without_context(self):
        from django.template.loader import render_to_string

        assert "Sorry, there is a problem with the service" in render_to_string("500.html")

    def test_csrf_failure_page(self, client):
        from django.test import Client

        strict = Client(enforce_csrf_checks=True)
        response = strict.post("/sign-in/", {"username": "a", "password": "b"})
        assert response.status_code == 403
        assert "Sorry, your page timed out" in response.content.decode()


def test_seed_003s_procedure_page_says_the_national_limit_applies_and_its_ladder_exceeds_it(client, db):
    """Seed 003 states no formal limit of its own (so the IRO Handbook's 20 working days apply), and its
    formal stages add up to 25 working days: its page says both."""
    rows = dict(overview_rows(procedure_version_model(procedure_get(key="challenge_and_resolution"))))
    text = rows["Formal stages in total"]
    assert "At most 20 working days" in text and "the national limit of the IRO Handbook" in text
    assert "add up to 25 working days, more than the limit" in text
