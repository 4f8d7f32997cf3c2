from __future__ import annotations

from django import forms

from resolve.notifications.models import NotificationPreference


class EmailPreferenceForm(forms.Form):
    email = forms.ChoiceField(
        label="How should we email you?",
        choices=NotificationPreference.Email.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose how we should email you"},
    )
