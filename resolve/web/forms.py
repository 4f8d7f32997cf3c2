"""Forms for the web pages, with error messages written the GOV.UK way."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError


class SignInForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Enter a correct username and password",
        "inactive": "This account cannot sign in. Ask your administrator to open it again",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].error_messages["required"] = "Enter your username"
        self.fields["password"].error_messages["required"] = "Enter your password"


class DateInputWidget(forms.MultiWidget):
    """Day, month and year as three boxes; rendered by the ``govuk_date_input`` tag."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__([forms.TextInput(), forms.TextInput(), forms.TextInput()], attrs)

    def decompress(self, value: dt.date | None) -> list[int | None]:
        if value:
            return [value.day, value.month, value.year]
        return [None, None, None]


class DateField(forms.MultiValueField):
    """A date typed as day, month and year, with the GOV.UK pattern's error messages.

    ``noun`` names the date in the messages: "Enter the date of notification".
    """

    widget = DateInputWidget

    def __init__(self, *, noun: str = "date", **kwargs: Any) -> None:
        self.noun = noun
        part = forms.CharField(required=False)
        super().__init__(fields=(part, part, part), require_all_fields=False, **kwargs)

    def compress(self, data_list: list[str]) -> dt.date | None:
        if not data_list or not any(data_list):
            if self.required:
                raise ValidationError(f"Enter the {self.noun}", code="required")
            return None
        day, month, year = (str(part or "").strip() for part in data_list)
        missing = [name for name, part in (("day", day), ("month", month), ("year", year)) if not part]
        if missing:
            raise ValidationError(
                f"The {self.noun} must include a {' and '.join(missing)}", code="incomplete"
            )
        if not (day.isdigit() and month.isdigit() and year.isdigit()) or len(year) != 4:
            raise ValidationError(f"The {self.noun} must be a real date", code="invalid")
        try:
            return dt.date(int(year), int(month), int(day))
        except ValueError:
            raise ValidationError(f"The {self.noun} must be a real date", code="invalid") from None

    def clean(self, value: Any) -> dt.date | None:
        # MultiValueField.clean reports "required" in Django's words before compress() runs.
        if self.required and (not value or not any(value)):
            raise ValidationError(f"Enter the {self.noun}", code="required")
        return super().clean(value)
