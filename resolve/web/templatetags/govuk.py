"""GOV.UK Design System components as Django template tags, and dates written the GOV.UK way.

Each inclusion tag renders one template under ``templates/components/`` with the markup of the
matching GOV.UK Frontend macro, so a page template reads as a list of components:

    {% load govuk %}
    {% govuk_error_summary form %}
    {% govuk_input form.username label="Username" autocomplete="username" %}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django import template
from django.core.paginator import Page
from django.forms import BoundField, Form
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from resolve.access import Perm, user_has_perm
from resolve.calendars.types import MONTHS, WEEKDAYS
from resolve.notifications import selectors as notification_selectors

register = template.Library()


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        # An aware time is shown as the date it was in the service's time zone.
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


@register.filter
def govuk_date(value: dt.date | dt.datetime | None) -> str:
    """``30 December 2026``: GOV.UK style, no leading zero, month in full, any locale."""
    if value is None or value == "":
        return ""
    day = _as_date(value)
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


@register.filter
def govuk_date_weekday(value: dt.date | dt.datetime | None) -> str:
    """``Wednesday 30 December 2026``."""
    if value is None or value == "":
        return ""
    day = _as_date(value)
    return f"{WEEKDAYS[day.weekday()]} {govuk_date(day)}"


@register.filter
def working_days(value: int | None) -> str:
    """``1 working day``, ``5 working days``; empty when the procedure sets no timescale."""
    if value is None:
        return ""
    return f"{value} working day" if value == 1 else f"{value} working days"


# -- navigation ---------------------------------------------------------------------------------

# The service navigation, in order. An item shows only once its page exists (phase 2 adds the
# children and challenges pages under these URL names), so the header never links to a 404.
NAVIGATION: tuple[tuple[str, str, str], ...] = (
    ("Home", "web:home", ""),
    ("Children", "web:child_list", "/children/"),
    ("Challenges", "web:challenge_list", "/challenges/"),
    ("Procedures", "web:procedure_list", "/procedures/"),
    ("Notifications", "notifications:list", "/notifications/"),
    ("Reports", "reports:dashboard", "/reports/"),
)
# Items shown only to those whose role allows the page (the page itself refuses anyone else).
NAVIGATION_PERMS: dict[str, Perm] = {"reports:dashboard": Perm.VIEW_REPORTS}


@register.simple_tag(takes_context=True)
def service_navigation(context: template.Context) -> list[dict[str, Any]]:
    request: HttpRequest | None = context.get("request")
    path = request.path if request is not None else ""
    items = []
    user = getattr(request, "user", None)
    for text, url_name, prefix in NAVIGATION:
        needed = NAVIGATION_PERMS.get(url_name)
        if needed is not None and (user is None or not user_has_perm(user=user, perm=needed)):
            continue
        try:
            href = reverse(url_name)
        except NoReverseMatch:
            continue
        current = path == href
        active = current or bool(prefix and path.startswith(prefix))
        unread: int | str = 0
        if url_name == "notifications:list" and request is not None and request.user.is_authenticated:
            bound = notification_selectors.UNREAD_BADGE_BOUND
            unread = notification_selectors.notification_unread_count(user=request.user, bound=bound)
            if unread > bound:
                unread = f"{bound}+"
        items.append({"text": text, "href": href, "active": active, "current": current, "unread": unread})
    return items


# -- form components ----------------------------------------------------------------------------


def _error_items(form: Form) -> list[dict[str, str]]:
    """Each error once, linked to the field it belongs to (non-field errors to the first field)."""
    items: list[dict[str, str]] = []
    fields = list(form.visible_fields())
    first_id = _field_anchor(fields[0]) if fields else ""
    for message in form.non_field_errors():
        items.append({"text": str(message), "href": f"#{first_id}" if first_id else ""})
    for field in form.hidden_fields():  # nothing to focus: say what is wrong, link nowhere
        items.extend({"text": str(message), "href": ""} for message in field.errors)
    for field in fields:
        for message in field.errors:
            items.append({"text": str(message), "href": f"#{_field_anchor(field)}"})
    return items


def _field_anchor(field: BoundField) -> str:
    # A date input's first box is its day; a checkbox group's its first option.
    from django.forms import RadioSelect

    widget_id = field.id_for_label or field.auto_id
    subwidgets = getattr(field.field.widget, "widgets", None)
    if subwidgets or isinstance(field.field.widget, RadioSelect):  # checkboxes are RadioSelects too
        return f"{field.auto_id}_0"
    return str(widget_id)


@register.inclusion_tag("components/error_summary.html")
def govuk_error_summary(
    form: Form | None = None, errors: Sequence[Mapping[str, str]] | None = None
) -> dict[str, Any]:
    """The summary at the top of a page with errors: from a form, or a list of ``{text, href}``."""
    items = list(errors or [])
    if form is not None and form.is_bound:
        items += _error_items(form)
    return {"items": items}


def _described_by(field: BoundField, hint: str) -> str:
    ids = []
    if hint:
        ids.append(f"{field.auto_id}-hint")
    if field.errors:
        ids.append(f"{field.auto_id}-error")
    return " ".join(ids)


@register.inclusion_tag("components/input.html")
def govuk_input(
    field: BoundField,
    label: str = "",
    hint: str = "",
    type: str = "text",
    autocomplete: str = "",
    classes: str = "",
    label_classes: str = "",
    is_page_heading: bool = False,
    spellcheck: bool | None = None,
) -> dict[str, Any]:
    value = field.value()
    return {
        "field": field,
        "label": label or field.label,
        "hint": hint or field.help_text,
        "type": type,
        "autocomplete": autocomplete,
        "classes": classes,
        "label_classes": label_classes,
        "is_page_heading": is_page_heading,
        "spellcheck": spellcheck,
        "value": "" if value is None or type == "password" else value,
        "described_by": _described_by(field, str(hint or field.help_text)),
    }


@register.inclusion_tag("components/checkboxes.html")
def govuk_checkboxes(
    field: BoundField, legend: str = "", hint: str = "", legend_classes: str = "govuk-fieldset__legend--m"
) -> dict[str, Any]:
    selected = {str(value) for value in (field.value() or [])}
    options = [
        {
            "id": f"{field.auto_id}_{index}",
            "value": str(value),
            "label": label,
            "checked": str(value) in selected,
        }
        for index, (value, label) in enumerate(field.field.choices)  # type: ignore[attr-defined]
    ]
    return {
        "field": field,
        "legend": legend or field.label,
        "hint": hint or field.help_text,
        "legend_classes": legend_classes,
        "options": options,
        "described_by": _described_by(field, str(hint or field.help_text)),
    }


@register.inclusion_tag("components/date_input.html")
def govuk_date_input(
    field: BoundField, legend: str = "", hint: str = "", legend_classes: str = "govuk-fieldset__legend--m"
) -> dict[str, Any]:
    """Day, month and year boxes for a :class:`resolve.web.forms.DateField`."""
    raw = field.value()
    if isinstance(raw, dt.date):
        parts = [str(raw.day), str(raw.month), str(raw.year)]
    elif isinstance(raw, list | tuple):
        parts = [str(part or "") for part in raw] + [""] * (3 - len(raw))
    else:
        parts = ["", "", ""]
    boxes = [
        {"suffix": suffix, "label": label, "width": width, "value": parts[index], "index": index}
        for index, (suffix, label, width) in enumerate(
            [("day", "Day", "2"), ("month", "Month", "2"), ("year", "Year", "4")]
        )
    ]
    return {
        "field": field,
        "legend": legend or field.label,
        "hint": hint or field.help_text or "For example, 27 3 2026",
        "legend_classes": legend_classes,
        "boxes": boxes,
        "described_by": _described_by(field, "example"),
    }


@register.inclusion_tag("components/button.html")
def govuk_button(
    text: str,
    href: str = "",
    classes: str = "",
    name: str = "",
    value: str = "",
    prevent_double_click: bool = True,
) -> dict[str, Any]:
    return {
        "text": text,
        "href": href,
        "classes": classes,
        "name": name,
        "value": value,
        "prevent_double_click": prevent_double_click,
    }


# -- display components -------------------------------------------------------------------------

TAG_COLOURS = {
    "grey",
    "green",
    "turquoise",
    "blue",
    "light-blue",
    "purple",
    "pink",
    "red",
    "orange",
    "yellow",
}


@register.inclusion_tag("components/tag.html")
def govuk_tag(text: str, colour: str = "") -> dict[str, Any]:
    if colour and colour not in TAG_COLOURS:
        raise template.TemplateSyntaxError(f"govuk_tag: unknown colour {colour!r}")
    return {"text": text, "colour": colour}


@register.inclusion_tag("components/summary_list.html")
def govuk_summary_list(rows: Iterable[Sequence[Any]], classes: str = "") -> dict[str, Any]:
    """Rows of ``(key, value)``; a value may be a list, shown one item a line. Empty rows are kept out."""
    shown = []
    for key, value in rows:
        if value is None or value == "" or value == []:
            continue
        shown.append({"key": key, "values": list(value) if isinstance(value, list | tuple) else [value]})
    return {"rows": shown, "classes": classes}


@register.inclusion_tag("components/table.html")
def govuk_table(
    head: Sequence[str], rows: Iterable[Sequence[Any]], caption: str = "", first_cell_is_header: bool = True
) -> dict[str, Any]:
    return {
        "head": head,
        # Each cell with its column's heading: on a phone the rows stack and every cell says what it is.
        "rows": [list(zip(head, row, strict=False)) for row in rows],
        "caption": caption,
        "first_cell_is_header": first_cell_is_header,
    }


@register.inclusion_tag("components/pagination.html", takes_context=True)
def govuk_pagination(context: template.Context, page: Page, param: str = "page") -> dict[str, Any]:
    """Previous, numbered and next links for a Django page, keeping the request's other parameters."""
    request: HttpRequest | None = context.get("request")
    query = request.GET.copy() if request is not None else None

    def href(number: int) -> str:
        if query is None:
            return f"?{param}={number}"
        params = query.copy()
        params[param] = str(number)
        return f"?{params.urlencode()}"

    numbers: list[int | None] = []
    last = page.paginator.num_pages
    for number in range(1, last + 1):
        if number in (1, last) or abs(number - page.number) <= 1:
            numbers.append(number)
        elif numbers and numbers[-1] is not None:
            numbers.append(None)  # an ellipsis
    return {
        "show": last > 1,
        "previous": href(page.previous_page_number()) if page.has_previous() else "",
        "next": href(page.next_page_number()) if page.has_next() else "",
        "items": [
            {"number": n, "href": href(n), "current": n == page.number} if n else {"ellipsis": True}
            for n in numbers
        ],
    }


@register.inclusion_tag("components/textarea.html")
def govuk_textarea(
    field: BoundField,
    label: str = "",
    hint: str = "",
    rows: int = 5,
    label_classes: str = "govuk-label--s",
    is_page_heading: bool = False,
) -> dict[str, Any]:
    value = field.value()
    return {
        "field": field,
        "label": label or field.label,
        "hint": hint or field.help_text,
        "rows": rows,
        "label_classes": label_classes,
        "is_page_heading": is_page_heading,
        "value": "" if value is None else value,
        "described_by": _described_by(field, str(hint or field.help_text)),
    }


def _options(field: BoundField, selected: set[str]) -> list[dict[str, Any]]:
    choices = [(value, label) for value, label in field.field.choices if str(value) != ""]  # type: ignore[attr-defined]
    return [
        {
            "id": f"{field.auto_id}_{index}",
            "value": str(value),
            "label": label,
            "checked": str(value) in selected,
        }
        for index, (value, label) in enumerate(choices)
    ]


@register.inclusion_tag("components/radios.html")
def govuk_radios(
    field: BoundField,
    legend: str = "",
    hint: str = "",
    legend_classes: str = "govuk-fieldset__legend--s",
    classes: str = "",
    is_page_heading: bool = False,
) -> dict[str, Any]:
    value = field.value()
    return {
        "field": field,
        "legend": legend or field.label,
        "hint": hint or field.help_text,
        "legend_classes": legend_classes,
        "classes": classes,
        "is_page_heading": is_page_heading,
        "options": _options(field, {"" if value is None else str(value)}),
        "described_by": _described_by(field, str(hint or field.help_text)),
    }


@register.inclusion_tag("components/select.html")
def govuk_select(
    field: BoundField, label: str = "", hint: str = "", label_classes: str = "govuk-label--s"
) -> dict[str, Any]:
    value = field.value()
    selected = "" if value is None else str(value)
    return {
        "field": field,
        "label": label or field.label,
        "hint": hint or field.help_text,
        "label_classes": label_classes,
        "options": _select_options(field.field.choices, selected),  # type: ignore[attr-defined]
        "described_by": _described_by(field, str(hint or field.help_text)),
    }


def _select_options(choices: Iterable[Any], selected: str) -> list[dict[str, Any]]:
    """Options for a select; Django's group ``(group label, [(value, label), ...])`` becomes an
    ``<optgroup>`` (an entry with ``options``)."""
    options: list[dict[str, Any]] = []
    for value, text in choices:
        if isinstance(text, list | tuple):
            inner = [{"value": str(v), "label": t, "selected": str(v) == selected} for v, t in text]
            options.append({"label": value, "options": inner})
        else:
            options.append({"value": str(value), "label": text, "selected": str(value) == selected})
    return options


@register.filter
def due_in_words(due: Any) -> str:
    """``Wednesday 30 December 2026: 5 working days, skipping Christmas Day and Boxing Day``.

    ``due`` is a :class:`resolve.challenges.selectors.DueDate`.
    """
    if due is None or due.due_on is None:
        return "No set date: the procedure gives this stage no response timescale"
    words = f"{govuk_date_weekday(due.due_on)}: {working_days(due.working_days)}"
    if due.skipped:
        names = [f"{name} on {govuk_date(day)}" for day, name in due.skipped]
        joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        words += f", skipping {joined}"
    return words


@register.inclusion_tag("components/checkbox.html")
def govuk_checkbox(field: BoundField, label: str = "", hint: str = "") -> dict[str, Any]:
    """One yes/no checkbox (a ``BooleanField``)."""
    return {
        "field": field,
        "label": label or field.label,
        "hint": hint or field.help_text,
        "checked": bool(field.value()),
        "described_by": _described_by(field, str(hint or field.help_text)),
    }


@register.simple_tag
def govuk_field(field: BoundField, label: str = "") -> str:
    """Any form field as its GOV.UK component, chosen by its widget."""
    from django import forms
    from django.template.loader import render_to_string

    widget = field.field.widget
    if isinstance(widget, forms.HiddenInput):
        # Safe: Django renders and escapes the widget.
        return mark_safe(str(field))  # noqa: S308  # nosec
    if isinstance(widget, forms.CheckboxSelectMultiple):
        name, context = (
            "checkboxes",
            govuk_checkboxes(field, legend=label, legend_classes="govuk-fieldset__legend--s"),
        )
    elif isinstance(widget, forms.RadioSelect):
        name, context = "radios", govuk_radios(field, legend=label)
    elif isinstance(widget, forms.CheckboxInput):
        name, context = "checkbox", govuk_checkbox(field, label=label)
    elif isinstance(widget, forms.Select):
        name, context = "select", govuk_select(field, label=label)
    elif isinstance(widget, forms.Textarea):
        name, context = "textarea", govuk_textarea(field, label=label)
    elif isinstance(widget, forms.MultiWidget):
        name, context = (
            "date_input",
            govuk_date_input(field, legend=label, legend_classes="govuk-fieldset__legend--s"),
        )
    else:
        name, context = "input", govuk_input(field, label=label, label_classes="govuk-label--s")
    # Safe: the component templates escape every value.
    return mark_safe(render_to_string(f"components/{name}.html", context))  # noqa: S308  # nosec
