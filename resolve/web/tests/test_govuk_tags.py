from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django import forms
from django.core.paginator import Paginator
from django.template import Context, Template, TemplateSyntaxError
from django.test import RequestFactory

from resolve.web.forms import DateField
from resolve.web.templatetags.govuk import govuk_date, govuk_date_weekday, working_days


def render(source: str, **context) -> str:
    return Template("{% load govuk %}" + source).render(Context(context))


class TestDates:
    def test_govuk_date(self):
        assert govuk_date(dt.date(2026, 12, 30)) == "30 December 2026"
        assert govuk_date(dt.date(2027, 1, 1)) == "1 January 2027"

    def test_weekday(self):
        assert govuk_date_weekday(dt.date(2026, 12, 30)) == "Wednesday 30 December 2026"

    def test_aware_datetime_is_the_date_in_london(self):
        late = dt.datetime(2026, 6, 30, 23, 30, tzinfo=dt.UTC)  # 00:30 on 1 July in London
        assert govuk_date(late) == "1 July 2026"
        assert govuk_date(late.astimezone(zoneinfo.ZoneInfo("Europe/London"))) == "1 July 2026"

    def test_empty(self):
        assert govuk_date(None) == "" and govuk_date_weekday(None) == ""

    def test_in_a_template(self):
        assert render("{{ d|govuk_date_weekday }}", d=dt.date(2026, 3, 2)) == "Monday 2 March 2026"

    def test_working_days(self):
        assert working_days(1) == "1 working day"
        assert working_days(5) == "5 working days"
        assert working_days(None) == ""


class ExampleForm(forms.Form):
    name = forms.CharField(label="Name", error_messages={"required": "Enter a name"})
    themes = forms.MultipleChoiceField(
        choices=[("a", "Drift and delay"), ("b", "Placement concerns")],
        error_messages={"required": "Select at least one theme"},
    )
    notified = DateField(noun="date of notification", label="Date of notification")


class TestFormComponents:
    def test_error_summary_links_each_error_to_its_field(self):
        form = ExampleForm(data={})
        html = render("{% govuk_error_summary form %}", form=form)
        assert '<a href="#id_name">Enter a name</a>' in html
        assert '<a href="#id_themes">Select at least one theme</a>' in html
        assert '<a href="#id_notified_0">Enter the date of notification</a>' in html

    def test_no_summary_without_errors(self):
        assert render("{% govuk_error_summary form %}", form=ExampleForm()).strip() == ""

    def test_input_with_hint_and_error(self):
        form = ExampleForm(data={})
        html = render('{% govuk_input form.name hint="As on the record" %}', form=form)
        assert "govuk-form-group--error" in html
        assert 'aria-describedby="id_name-hint id_name-error"' in html
        assert '<span class="govuk-visually-hidden">Error:</span> Enter a name' in html

    def test_checkboxes_keep_the_choice(self):
        form = ExampleForm(data={"themes": ["b"]})
        html = render("{% govuk_checkboxes form.themes %}", form=form)
        assert 'id="id_themes_1" name="themes" type="checkbox" value="b" checked' in html
        assert 'value="a">' in html

    def test_date_input_keeps_what_was_typed(self):
        form = ExampleForm(data={"notified_0": "31", "notified_1": "2", "notified_2": "2026"})
        assert not form.is_valid()
        assert form.errors["notified"] == ["The date of notification must be a real date"]
        html = render("{% govuk_date_input form.notified %}", form=form)
        assert 'name="notified_0" type="text" inputmode="numeric" value="31"' in html
        assert "govuk-input--width-4" in html

    def test_button(self):
        assert 'data-prevent-double-click="true"' in render('{% govuk_button "Save" %}')
        assert 'role="button"' in render('{% govuk_button "Start" href="/start/" %}')

    def test_tag_rejects_an_unknown_colour(self):
        assert "govuk-tag--red" in render('{% govuk_tag "Overdue" colour="red" %}')
        with pytest.raises(TemplateSyntaxError):
            render('{% govuk_tag "Overdue" colour="mauve" %}')


class TestDateField:
    @pytest.mark.parametrize(
        ("data", "error"),
        [
            (["", "", ""], "Enter the date"),
            (["1", "", "2026"], "The date must include a month"),
            (["", "", "2026"], "The date must include a day and month"),
            (["1", "13", "2026"], "The date must be a real date"),
            (["1", "1", "26"], "The date must be a real date"),
            (["a", "1", "2026"], "The date must be a real date"),
        ],
    )
    def test_errors(self, data, error):
        with pytest.raises(forms.ValidationError) as raised:
            DateField().clean(data)
        assert raised.value.messages == [error]

    def test_valid(self):
        assert DateField().clean([" 7", "3", "2026"]) == dt.date(2026, 3, 7)

    def test_optional(self):
        assert DateField(required=False).clean(["", "", ""]) is None


class TestDisplayComponents:
    def test_summary_list_leaves_out_empty_rows(self):
        html = render(
            "{% govuk_summary_list rows %}", rows=[("To", "Team Manager"), ("CC", ""), ("D", ["a", "b"])]
        )
        assert "Team Manager" in html and ">CC<" not in html
        assert "<li>a</li><li>b</li>" in html

    def test_table(self):
        html = render("{% govuk_table head=head rows=rows %}", head=["Stage", "Days"], rows=[["One", "5"]])
        assert '<th scope="row" class="govuk-table__header">One</th>' in html
        assert '<td class="govuk-table__cell" data-label="Days">5</td>' in html

    def test_pagination_keeps_other_parameters(self):
        request = RequestFactory().get("/children/?q=smith&page=2")
        page = Paginator(list(range(100)), 10).page(2)
        html = Template("{% load govuk %}{% govuk_pagination page %}").render(
            Context({"page": page, "request": request})
        )
        assert 'href="?q=smith&amp;page=1" rel="prev"' in html
        assert 'href="?q=smith&amp;page=3" rel="next"' in html
        assert 'aria-current="page"' in html
        assert "govuk-pagination__item--ellipses" in html

    def test_no_pagination_for_one_page(self):
        page = Paginator([1], 10).page(1)
        assert render("{% govuk_pagination page %}", page=page).strip() == ""
