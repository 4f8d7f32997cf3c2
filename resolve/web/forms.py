"""Forms for the web pages, with error messages written the GOV.UK way."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from resolve.challenges.documents import DIRECTORS_BRIEFING_FIELDS
from resolve.challenges.engine import AgencyContact
from resolve.challenges.events import RESPONSES, REVIEWS
from resolve.challenges.models import Challenge
from resolve.core import limits
from resolve.core.clock import today


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


# -- lists ---------------------------------------------------------------------------------------

STATUS_CHOICES = [("", "Any status"), *Challenge.Status.choices]
OVERDUE_CHOICES = [("", "Overdue or not"), ("yes", "Overdue only"), ("no", "Not overdue")]
PAST_CAP_CHOICES = [
    ("", "Past the formal limit or not"),
    ("yes", "Past the formal limit only"),
    ("no", "Within it"),
]
SORT_CHOICES = [
    ("raised", "Newest raised first"),
    ("due", "Oldest due date first"),
    ("overdue", "Overdue first"),
    ("child", "Child's name"),
]


class StageChoiceField(forms.ChoiceField):
    """A stage, as ``procedure:stage`` from the grouped options, or a bare stage key (as older links
    have it), which filters that stage in every procedure that has it."""

    bare_keys: set[str] = set()

    def valid_value(self, value: Any) -> bool:
        return str(value) in self.bare_keys or super().valid_value(value)


class ChallengeFilterForm(forms.Form):
    """The filters above a list of challenges; every field is optional, a bad value is ignored."""

    q = forms.CharField(
        label="Search",
        help_text="Child's name or case number, chair, team, theme or procedure",
        required=False,
        max_length=100,
    )
    status = forms.ChoiceField(label="Status", choices=STATUS_CHOICES, required=False)
    overdue = forms.ChoiceField(label="Overdue", choices=OVERDUE_CHOICES, required=False)
    past_cap = forms.ChoiceField(label="Formal limit", choices=PAST_CAP_CHOICES, required=False)
    stage = StageChoiceField(label="Stage", choices=[("", "Any stage")], required=False)
    policy = forms.ChoiceField(label="Procedure", choices=[("", "Any procedure")], required=False)
    agency_kind = forms.ChoiceField(label="Challenge to", choices=[("", "Anyone")], required=False)
    team = forms.ChoiceField(label="Team", choices=[("", "Any team")], required=False)
    chair = forms.ChoiceField(label="Chair", choices=[("", "Any chair")], required=False)
    sort = forms.ChoiceField(label="Sort by", choices=SORT_CHOICES, required=False)

    def __init__(
        self,
        data: Any,
        *,
        stages: list[Any],
        procedures: list[tuple[str, str]],
        teams: list[tuple[str, str]] | None = None,
        chairs: list[tuple[str, str]] | None = None,
        default_status: str = "",
        default_sort: str = "raised",
        reserved: Collection[str] = (),
        agency_kinds: Collection[tuple[str, str]] = (),
    ) -> None:
        data = data.copy()
        data.setdefault("status", default_status)
        data.setdefault("sort", default_sort)
        super().__init__(data)
        # Parameters that belong to something else on the page (a report's team and chair, when the
        # list shows a report's figure) are not offered as this list's own filters.
        for name in set(reserved) & {"team", "chair"}:
            del self.fields[name]
        # Stages come grouped by procedure ("procedure:stage"); a bare stage key (shared by several
        # procedures, as older links have it) still filters every procedure's stage of that key.
        self.fields["stage"].choices = [("", "Any stage"), *stages]  # type: ignore[attr-defined]
        self.fields["policy"].choices = [("", "Any procedure"), *procedures]  # type: ignore[attr-defined]
        if agency_kinds:  # challenges to partner agencies (seed 000 section 2), by the agency's kind
            self.fields["agency_kind"].choices = [  # type: ignore[attr-defined]
                ("", "Anyone"),
                ("none", "The local authority"),
                ("any", "Any partner agency"),
                *((key, f"A partner agency: {label}") for key, label in agency_kinds),
            ]
        else:
            del self.fields["agency_kind"]
        if "team" in self.fields:
            self.fields["team"].choices = [("", "Any team"), *(teams or [])]  # type: ignore[attr-defined]
        if "chair" in self.fields:
            self.fields["chair"].choices = [("", "Any chair"), *(chairs or [])]  # type: ignore[attr-defined]
        self.fields["stage"].bare_keys = {  # type: ignore[attr-defined]
            key.partition(":")[2]
            for _group, options in stages
            if isinstance(options, list | tuple)
            for key, _label in options
        }
        self.default_sort = default_sort

    @property
    def filtered(self) -> bool:
        """Whether the person chose any filter (the "Filter" disclosure starts open then)."""
        chosen = ("q", "overdue", "past_cap", "stage", "policy", "agency_kind", "team", "chair")
        return any(self.data.get(name) for name in chosen if name in self.fields)

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for ``challenge_search``; a value that is not a choice counts as not given."""
        self.is_valid()
        data = {name: self.cleaned_data.get(name, "") for name in self.fields}
        procedure, _, stage = data["stage"].rpartition(":")
        team = data.get("team", "")
        return {
            "status": data["status"] or None,
            "overdue": {"yes": True, "no": False}.get(data["overdue"]),
            "past_cap": {"yes": True, "no": False}.get(data["past_cap"]),
            "stage": stage or None,
            "procedure": data["policy"] or procedure or None,
            "sort": data["sort"] or self.default_sort,
            "query": data["q"] or "",
            "team": int(team) if team.isdigit() else None,
            "chair": data.get("chair") or None,
            "agency_kind": data.get("agency_kind") or None,
        }


class ChildSearchForm(forms.Form):
    q = forms.CharField(label="Search by name or case number", required=False, max_length=100)

    def query(self) -> str:
        return self.cleaned_data.get("q", "") if self.is_valid() else ""


# -- raising a challenge -------------------------------------------------------------------------


# Who a challenge is to: the local authority's own services, or a partner agency (seed 000 section 2).
CHALLENGE_TO = [
    ("authority", "The local authority: the child's social work team and its managers"),
    ("agency", "A partner agency: health, police, education, another local authority, a provider"),
]


class RaiseStartForm(forms.Form):
    track = forms.ChoiceField(
        label="Which role are you raising this challenge as?",
        error_messages={"required": "Choose whether you are raising this as the child's IRO or CP Chair"},
    )
    to = forms.ChoiceField(
        label="Who is the challenge to?",
        required=False,
        widget=forms.RadioSelect,
        choices=CHALLENGE_TO,
        error_messages={"invalid_choice": "Choose who the challenge is to"},
    )
    procedure = forms.ChoiceField(
        label="Which procedure does this challenge follow?",
        required=False,
        error_messages={"invalid_choice": "Choose the procedure"},
    )

    def __init__(
        self,
        data: Any,
        *,
        tracks: list[tuple[str, str]],
        procedures: list[tuple[str, str]],
        agency_procedures: Collection[tuple[str, str]] = (),
    ) -> None:
        self.named_agency_procedure = ""
        if data is not None and data.get("procedure") in dict(agency_procedures):
            # An address naming a partner agency procedure answers "who is the challenge to?".
            self.named_agency_procedure = str(data.get("procedure"))
            data = data.copy()
            data["to"], data["procedure"] = "agency", ""
        super().__init__(data)
        self.agency_procedures = list(agency_procedures)
        self.fields["track"].choices = tracks  # type: ignore[attr-defined]
        # The procedure question is for a challenge to the local authority only.
        self.fields["procedure"].choices = procedures  # type: ignore[attr-defined]
        self.authority_procedures = list(procedures)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        procedure = cleaned.get("procedure") or self.named_agency_procedure
        agency, authority = dict(self.agency_procedures), dict(self.authority_procedures)
        # Unanswered, the question is answered by the procedure chosen (an address made before it).
        to = cleaned.get("to") or ("agency" if procedure in agency else "authority" if procedure else "")
        if not to and not agency:
            to = "authority"
        if not to:
            self.add_error("to", "Choose whether the challenge is to the local authority or a partner agency")
        elif to == "agency" and procedure in agency:
            cleaned["procedure"] = procedure
        elif to == "agency" and len(agency) == 1:
            # A challenge to a partner agency follows the partnership's multi-agency escalation procedure.
            cleaned["procedure"] = self.agency_procedures[0][0]
        elif to == "agency" and procedure not in agency:
            self.add_error(
                "procedure", "Choose a partner agency procedure for a challenge to a partner agency"
            )
        elif to == "authority" and not procedure and len(authority) == 1:
            cleaned["procedure"] = self.authority_procedures[0][0]
        elif to == "authority" and not procedure and "procedure" not in self.errors:
            self.add_error("procedure", "Choose the procedure")
        elif to == "authority" and procedure and procedure not in authority:
            self.add_error("procedure", "Choose the local authority's procedure")
        return cleaned


def _text(
    label: str, required_message: str = "", required: bool = True, help_text: str = ""
) -> forms.CharField:
    field = forms.CharField(
        label=label,
        required=required,
        help_text=help_text,
        widget=forms.Textarea,
        max_length=limits.MAX_TEXT,
        error_messages={"max_length": f"Use {limits.MAX_TEXT:,} characters or fewer"},
    )
    if required_message:
        field.error_messages["required"] = required_message
    return field


class BriefingFieldsMixin:
    """The Director's briefing (seed 002, Appendix B) as fields named ``briefing_<key>``."""

    fields: dict[str, forms.Field]

    def add_briefing_fields(self) -> None:
        for item in DIRECTORS_BRIEFING_FIELDS:
            self.fields[f"briefing_{item.key}"] = forms.CharField(
                label=item.label if item.required else f"{item.label} (optional)",
                required=False,
                widget=forms.Textarea,
                max_length=limits.MAX_TEXT,
            )

    def briefing(self, cleaned: dict[str, Any]) -> dict[str, str] | None:
        """The briefing as the service takes it, or None when no part of it was filled in."""
        values = {
            key[len("briefing_") :]: value for key, value in cleaned.items() if key.startswith("briefing_")
        }
        return values if any(values.values()) else None


OLD_NOTIFICATION_DAYS = 30  # a date of notification further back than this is confirmed


class RaiseForm(BriefingFieldsMixin, forms.Form):
    """The challenge form (seed 003's fields): what, the impact, themes, stage, and how it was agreed."""

    on = DateField(
        noun="date of notification",
        label="Date of notification",
        required=False,
        help_text="The date you raised it with them. Leave blank for today. For example, 27 3 2026",
    )
    concern = _text(
        "What are we worried about? What has been done to resolve it?",
        "Enter what you are worried about and what has been done to resolve it",
    )
    impact_on_child = _text("Outcome and impact for the child", "Enter the outcome and impact for the child")
    desired_outcome = _text("What outcome are you asking for? (optional)", required=False)
    themes = forms.MultipleChoiceField(label="Themes", required=False, widget=forms.CheckboxSelectMultiple)
    stage = forms.ChoiceField(
        label="Which stage does the challenge start at?", error_messages={"required": "Choose the stage"}
    )
    bypass_reason = _text(
        "Why are you starting after the first stage? (only if you are)",
        required=False,
        help_text="For example, the child's situation cannot wait for the earlier stages",
    )
    bypass_agreed_by = forms.ChoiceField(label="Who agreed to starting at a later stage?", required=False)
    review = forms.ChoiceField(
        label="Which review did this come out of? (optional)",
        required=False,
        choices=[("", "Not from a review"), *REVIEWS.items()],
    )
    review_on = DateField(
        noun="date of the review", label="Date of the review (if it came out of one)", required=False
    )
    respond_by = DateField(
        noun="response date",
        label="Response wanted by (optional)",
        required=False,
        help_text="An earlier date than the procedure's, if the child needs one. Leave blank for the "
        "procedure's date",
    )
    concern_id = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    notify_optional = forms.ChoiceField(
        label="Tell them too?",
        required=False,
        widget=forms.RadioSelect,
        choices=[("yes", "Yes, tell them"), ("no", "No")],
    )

    confirm_on = forms.BooleanField(
        label="Yes, the challenge was raised on this date", required=False, widget=forms.CheckboxInput
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        on = cleaned.get("on")
        # A date long past is more often a slip of the year than a challenge recorded late: ask.
        if (
            on is not None
            and on < today() - dt.timedelta(days=OLD_NOTIFICATION_DAYS)
            and not cleaned.get("confirm_on")
        ):
            self.asks_to_confirm_on = True
            self.add_error(
                "on",
                f"The date of notification is more than {OLD_NOTIFICATION_DAYS} days ago: check it, "
                "and tick the box to confirm it",
            )
        return cleaned

    asks_to_confirm_on = False

    def __init__(
        self,
        data: Any = None,
        *,
        themes: list[tuple[str, str]],
        stages: list[tuple[str, str]],
        people: list[tuple[str, str]],
        briefing: bool,
        agency_kinds: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(data)
        self.fields["themes"].choices = themes  # type: ignore[attr-defined]
        self.fields["stage"].choices = stages  # type: ignore[attr-defined]
        self.fields["bypass_agreed_by"].choices = [("", "No one needed to agree"), *people]  # type: ignore[attr-defined]
        if stages and not self.is_bound:
            self.initial["stage"] = stages[0][0]
        if briefing:
            self.add_briefing_fields()
        if agency_kinds:
            self._add_agency_fields(agency_kinds)

    def _add_agency_fields(self, kinds: list[tuple[str, str]]) -> None:
        """A challenge to a partner agency (seed 000 section 2): the agency, its kind and its contact."""
        self.fields["agency_name"] = _line(
            "Name of the partner agency", "Enter the name of the partner agency"
        )
        self.fields["agency_kind"] = forms.ChoiceField(
            label="What kind of agency is it?",
            widget=forms.RadioSelect,
            choices=kinds,
            error_messages={
                "required": "Choose the kind of agency",
                "invalid_choice": "Choose the kind of agency",
            },
        )
        self.fields["contact_name"] = _line("Contact's name", "Enter the contact's name", limits.MAX_NAME)
        self.fields["contact_role"] = _line(
            "Their role at the agency", "Enter the contact's role at the agency", limits.MAX_NAME
        )
        self.fields["contact_email"] = _line(
            "Their email address", "Enter the contact's email address", limits.MAX_KEY
        )
        # In the order the page shows them, so the error summary lists them in the same order.
        added = ["agency_name", "agency_kind", "contact_name", "contact_role", "contact_email"]
        rest = [name for name in self.fields if name not in added]
        at = rest.index("concern")
        self.order_fields([*rest[:at], *added, *rest[at:]])
        desired = self.fields["desired_outcome"]
        desired.label = "What are you asking the agency to do?"
        desired.required = True
        desired.error_messages["required"] = "Enter what you are asking the agency to do"

    def agency_answers(self) -> dict[str, Any]:
        """The agency and contact answered, for the services (empty on the authority's own ladder)."""
        if "agency_name" not in self.fields:
            return {"agency": "", "agency_kind": "", "contact": None}
        data = self.cleaned_data
        return {
            "agency": data["agency_name"],
            "agency_kind": data["agency_kind"],
            "contact": AgencyContact(
                name=data["contact_name"], role=data["contact_role"], email=data["contact_email"]
            ),
        }


def _line(label: str, required_message: str, max_length: int = limits.MAX_KEY) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=max_length,
        error_messages={
            "required": required_message,
            "max_length": f"Use {max_length:,} characters or fewer",
        },
    )


class ActionRowForm(forms.Form):
    """One SMART action: what, by whom (a person in Resolve, or someone outside it named in words), by
    when. A row left blank is ignored."""

    action = forms.CharField(
        label="What needs to happen", required=False, widget=forms.Textarea, max_length=limits.MAX_TEXT
    )
    owner_user = forms.ChoiceField(
        label="By whom: someone in Resolve",
        required=False,
        error_messages={"invalid_choice": "Choose a person from the list, or name someone outside Resolve"},
    )
    owner = forms.CharField(
        label="Or by whom: someone outside Resolve",
        required=False,
        max_length=limits.MAX_KEY,
        help_text="Their name and organisation, for example Dr A Patel, school nurse",
        error_messages={"max_length": f"Use {limits.MAX_KEY} characters or fewer"},
    )
    due = DateField(noun="date the action is due by", label="By when", required=False)

    def __init__(self, *args: Any, people: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner_user"].choices = [("", "Choose a person"), *(people or [])]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        filled = [name for name in ("action", "owner_user", "owner") if cleaned.get(name)] + (
            ["due"] if cleaned.get("due") else []
        )
        if not filled:
            return cleaned
        # Every missing part at once, beside its own field (a part already in error keeps its message).
        if not cleaned.get("action") and "action" not in self.errors:
            self.add_error("action", "Enter what needs to happen")
        if "owner_user" not in self.errors and "owner" not in self.errors:
            if not cleaned.get("owner_user") and not cleaned.get("owner"):
                self.add_error("owner_user", "Choose who will do it, or name someone outside Resolve")
            elif cleaned.get("owner_user") and cleaned.get("owner"):
                self.add_error("owner", "Choose a person in Resolve or name someone outside it, not both")
        if not cleaned.get("due") and "due" not in self.errors:
            self.add_error("due", "Enter the date the action is due by")
        return cleaned

    def is_blank(self) -> bool:
        return not any(self.cleaned_data.get(name) for name in ("action", "owner_user", "owner", "due"))


ActionFormSet = forms.formset_factory(
    ActionRowForm, extra=0, max_num=limits.MAX_ACTIONS, absolute_max=limits.MAX_ACTIONS, validate_max=True
)
ACTION_ROWS = 3  # blank rows offered at first; "Add another action" posts back for one more


# -- changing a challenge ------------------------------------------------------------------------


class ChallengeChangeForm(forms.Form):
    """Every change carries the version the person read, so a stale form is refused, not applied."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, data: Any = None, *, version: int, **kwargs: Any) -> None:
        super().__init__(data, initial={"expected_version": version}, **kwargs)
        self.fields["expected_version"].error_messages["required"] = (
            "The form was missing the challenge's version: open the challenge again and retry"
        )


class AgencyContactFieldsMixin(forms.Form):
    """The contact at a partner agency a stage goes to (seed 000 section 2): name, role, email."""

    def add_contact_fields(self, *, required: bool = True) -> None:
        optional = "" if required else " (optional)"
        self.fields["contact_name"] = _line(
            f"Contact's name{optional}", "Enter the contact's name", limits.MAX_NAME
        )
        self.fields["contact_role"] = _line(
            f"Their role at the agency{optional}", "Enter the contact's role at the agency", limits.MAX_NAME
        )
        self.fields["contact_email"] = _line(
            f"Their email address{optional}", "Enter the contact's email address", limits.MAX_KEY
        )
        for name in ("contact_name", "contact_role", "contact_email"):
            self.fields[name].required = required

    def contact(self) -> AgencyContact | None:
        """The contact given, or None when the form has no contact fields or (optional) left them blank."""
        if "contact_name" not in self.fields:
            return None
        data = self.cleaned_data
        given = [data.get(name, "") for name in ("contact_name", "contact_role", "contact_email")]
        if not any(given):
            return None
        return AgencyContact(name=given[0], role=given[1], email=given[2])


class AskAgencyForm(AgencyContactFieldsMixin, ChallengeChangeForm):
    """Send a challenge to a partner agency to another contact at its current stage."""

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.add_contact_fields()


class RespondForm(ChallengeChangeForm):
    response = forms.ChoiceField(
        label="What is your response?",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose your response"},
    )
    comments = _text("Your comments", required=False, help_text="What you will do, by when, or why not")

    def __init__(self, data: Any = None, *, labels: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        # The responses in the procedure's own words where it words them (seed 000).
        words = {**RESPONSES, **(labels or {})}
        self.fields["response"].choices = list(words.items())  # type: ignore[attr-defined]


class EscalateForm(AgencyContactFieldsMixin, BriefingFieldsMixin, ChallengeChangeForm):
    to_stage = forms.ChoiceField(
        label="Which stage are you escalating to?", error_messages={"required": "Choose the stage"}
    )
    reason = _text("Why are you escalating?", "Enter why you are escalating the challenge")
    bypass_agreed_by = forms.ChoiceField(
        label="Who agreed to going past a stage? (only if you are)", required=False
    )
    respond_by = DateField(
        noun="response date",
        label="Response wanted by (optional)",
        required=False,
        help_text="An earlier date than the procedure's, if the child needs one. Leave blank for the "
        "procedure's date",
    )
    notify_optional = forms.ChoiceField(
        label="Tell them too?",
        required=False,
        widget=forms.RadioSelect,
        choices=[("yes", "Yes, tell them"), ("no", "No")],
    )

    def __init__(
        self,
        data: Any = None,
        *,
        stages: list[tuple[str, str]],
        people: list[tuple[str, str]],
        briefing: bool,
        contact: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        if contact:  # a partner agency's ladder: each level names its contact
            self.add_contact_fields()
        self.fields["to_stage"].choices = stages  # type: ignore[attr-defined]
        self.fields["bypass_agreed_by"].choices = [("", "No one needed to agree"), *people]  # type: ignore[attr-defined]
        if stages:
            self.initial["to_stage"] = stages[0][0]
        if briefing:
            self.add_briefing_fields()


class ResolveForm(ChallengeChangeForm):
    outcome = _text("What is the outcome for the child?", "Enter the outcome for the child")
    learning_points = _text("Key learning points", required=False)

    def __init__(self, data: Any = None, *, learning_required: bool = False, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        if not learning_required:
            self.fields["learning_points"].label = "Key learning points (optional)"


class ReasonForm(AgencyContactFieldsMixin, BriefingFieldsMixin, ChallengeChangeForm):
    reason = _text("Reason", "Enter the reason")

    def __init__(
        self,
        data: Any = None,
        *,
        label: str = "Reason",
        required_message: str = "Enter the reason",
        briefing: bool = False,
        respond_by: bool = False,
        contact: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        if contact:  # re-opening a challenge to a partner agency: the last contact unless another is named
            self.add_contact_fields(required=False)
        self.fields["reason"].label = label
        self.fields["reason"].error_messages["required"] = required_message
        if briefing:
            self.add_briefing_fields()
        if respond_by:  # re-entering a stage: the chair may set an earlier response date
            self.fields["respond_by"] = DateField(
                noun="response date",
                label="Response wanted by (optional)",
                required=False,
                help_text="An earlier date than the procedure's, if the child needs one. Leave blank for "
                "the procedure's date",
            )


class MeetingForm(ChallengeChangeForm):
    on = DateField(
        noun="date of the meeting",
        label="Date of the meeting",
        required=False,
        help_text="Leave blank for today. For example, 27 3 2026",
    )
    summary = _text("What was discussed and agreed?", "Enter a summary of the meeting")
    number = forms.ChoiceField(label="Which meeting is this?", required=False, widget=forms.RadioSelect)
    attendees = forms.MultipleChoiceField(
        label="Who was there?", required=False, widget=forms.CheckboxSelectMultiple
    )
    outsiders = _text(
        "Who else was there, from outside Resolve? (optional)",
        required=False,
        help_text="One name on each line, with their organisation",
    )

    def __init__(
        self,
        data: Any = None,
        *,
        requests: list[tuple[str, str]] | None = None,
        people: list[tuple[str, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        requests = requests or []
        self.fields["number"].choices = [*requests, ("", "A meeting that was not asked for in Resolve")]  # type: ignore[attr-defined]
        self.fields["attendees"].choices = people or []  # type: ignore[attr-defined]
        if requests:
            self.initial["number"] = requests[0][0]
        # The actions agreed at the meeting: what, by whom, by when (a row left blank is ignored).
        for row in range(1, MEETING_ACTION_ROWS + 1):
            self.fields[f"action_{row}"] = forms.CharField(
                label=f"Action {row}: what needs to happen", required=False, max_length=limits.MAX_TEXT
            )
            self.fields[f"owner_{row}"] = forms.CharField(
                label=f"Action {row}: by whom", required=False, max_length=limits.MAX_KEY
            )
            self.fields[f"due_{row}"] = DateField(
                noun=f"date action {row} is due by", label=f"Action {row}: by when", required=False
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for row in range(1, MEETING_ACTION_ROWS + 1):
            parts = [cleaned.get(f"{name}_{row}") for name in ("action", "owner", "due")]
            if any(parts) and not all(parts):
                for name, value in zip(("action", "owner", "due"), parts, strict=True):
                    if not value and f"{name}_{row}" not in self.errors:
                        self.add_error(f"{name}_{row}", f"Enter action {row}'s {name.replace('_', ' ')}")
        return cleaned

    def actions(self) -> list[tuple[str, str, dt.date]]:
        found = []
        for row in range(1, MEETING_ACTION_ROWS + 1):
            action, owner, due = (
                self.cleaned_data.get(f"{name}_{row}") for name in ("action", "owner", "due")
            )
            if action and owner and due:
                found.append((action, owner, due))
        return found

    def outsider_names(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data.get("outsiders", "").splitlines() if line.strip()]


MEETING_ACTION_ROWS = 3


class RequestMeetingForm(ChallengeChangeForm):
    """Ask for one of the stage's meetings: when, who chairs it, who is invited."""

    key = forms.ChoiceField(
        label="Which meeting?", widget=forms.RadioSelect, error_messages={"required": "Choose the meeting"}
    )
    scheduled_for = DateField(
        noun="date of the meeting", label="Date of the meeting", help_text="For example, 27 3 2026"
    )
    chair = forms.ChoiceField(label="Who chairs it and records the minutes?", required=False)
    attendees = forms.MultipleChoiceField(
        label="Who is invited?", required=False, widget=forms.CheckboxSelectMultiple
    )
    outsiders = _text(
        "Who else is invited, from outside Resolve? (optional)",
        required=False,
        help_text="One name on each line, with their organisation",
    )
    note = _text("What is the meeting for? (optional)", required=False)

    def __init__(
        self,
        data: Any = None,
        *,
        meetings: list[tuple[str, str]],
        chairs: list[tuple[str, str]],
        people: list[tuple[str, str]],
        invited: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        self.fields["key"].choices = meetings  # type: ignore[attr-defined]
        self.fields["chair"].choices = [("", "I will chair it"), *chairs]  # type: ignore[attr-defined]
        if chairs:  # the procedure names who chairs it
            self.initial["chair"] = chairs[0][0]
        if invited:  # those the procedure invites, ticked at first
            self.initial["attendees"] = [u for u in invited if u != self.initial.get("chair")]
        self.fields["attendees"].choices = people  # type: ignore[attr-defined]
        if len(meetings) == 1:
            self.initial["key"] = meetings[0][0]

    def outsider_names(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data.get("outsiders", "").splitlines() if line.strip()]


class FinalCommentsForm(ChallengeChangeForm):
    comments = _text("Your final comments", "Enter your final comments")


class LearningPointsForm(ChallengeChangeForm):
    learning_points = _text("What should be learned from this challenge?", "Enter the key learning points")


class ActionMarkForm(ChallengeChangeForm):
    status = forms.ChoiceField(
        choices=[("done", "Done"), ("not_done", "Not done")],
        error_messages={"required": "Choose done or not done", "invalid_choice": "Choose done or not done"},
    )
    reason = _text(
        "Why was the action not done?",
        required=False,
        help_text="It is recorded on the challenge and in the case note, and the chair may re-open the "
        "challenge because of it",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("status") == "not_done" and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", "Enter why the action was not done")
        return cleaned


class CafcassFieldsForm(forms.Form):
    """A referral to Cafcass: why, the documents sent, urgency; every problem at once in one error
    summary (the service checks the same again). The agreements a referral needs are asked for and
    confirmed beforehand, on their own page: those still missing come in ``preconditions_unmet``."""

    reason = _text(
        "Why are you referring the case to Cafcass?",
        "Enter why you are referring the case to Cafcass",
        help_text="How the child's rights or welfare are at risk, and what the challenge has not achieved",
    )
    checklist = forms.MultipleChoiceField(
        label="Which documents are you sending?", required=False, widget=forms.CheckboxSelectMultiple
    )
    urgent = forms.BooleanField(label="This referral is urgent", required=False)
    # Why it must be urgent, with the procedure's point it comes before.
    urgent_words = (
        "Before {before} a referral cuts the process short: mark it urgent and say in the reason why the "
        "child's timetable cannot wait"
    )

    def __init__(
        self,
        data: Any = None,
        *,
        checklist: list[tuple[str, str]],
        required_checklist: list[str] | None = None,
        urgent_required: bool = False,
        urgent_before: str = "",
        preconditions_unmet: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        self.fields["checklist"].choices = checklist  # type: ignore[attr-defined]
        self.preconditions_unmet = preconditions_unmet or []
        self.required_checklist = required_checklist or []
        self.urgent_required = urgent_required
        self.urgent_before = urgent_before
        self.checklist_labels = dict(checklist)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for problem in self.preconditions_unmet:
            self.add_error(None, problem)
        ticked = set(cleaned.get("checklist") or [])
        missing = [key for key in self.required_checklist if key not in ticked]
        if missing and "checklist" not in self.errors:
            names = "; ".join(self.checklist_labels[key].removesuffix(" (required)") for key in missing)
            self.add_error("checklist", f"The referral must include: {names}")
        if self.urgent_required and not cleaned.get("urgent"):
            self.add_error("urgent", self.urgent_words.format(before=self.urgent_before))
        return cleaned


class CafcassForm(ChallengeChangeForm, CafcassFieldsForm):
    """A challenge's referral to Cafcass."""


class AgreementRequestFieldsForm(forms.Form):
    """Whom a request for agreement (or to be told) goes to, and what it says; the subclass declares
    what it is about (``subject_field``), chosen from ``subjects``."""

    subject_field = "subject"
    person = forms.ChoiceField(
        label="Who are you asking (or telling)?",
        error_messages={
            "required": "Choose who you are asking",
            "invalid_choice": "Choose who you are asking",
        },
    )
    note = _text(
        "What are you asking or telling them, and why?",
        "Enter what you are asking or telling them, and why",
        help_text="They read this in the message Resolve sends them",
    )

    def __init__(
        self,
        data: Any = None,
        *,
        subjects: list[tuple[str, str]],
        people: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        self.fields[self.subject_field].choices = subjects  # type: ignore[attr-defined]
        self.fields["person"].choices = [("", "Choose a person"), *people]  # type: ignore[attr-defined]


def _subject_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label="What are you asking about?",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what you are asking about"},
    )


class RequestAgreementForm(ChallengeChangeForm, AgreementRequestFieldsForm):
    """Ask a named person to agree to (or tell them of) a bypass or a Cafcass referral."""

    subject = _subject_field()
    field_order = ["subject", "person", "note"]


class AgreementAnswerFieldsForm(forms.Form):
    """Confirm or decline a request made to you (the reason is required when declining)."""

    number = forms.ChoiceField(
        label="Which request are you answering?",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose the request you are answering"},
    )
    answer = forms.ChoiceField(
        label="Your answer",
        widget=forms.RadioSelect,
        choices=[("confirmed", "I confirm"), ("declined", "I decline")],
        error_messages={"required": "Choose whether you confirm or decline"},
    )
    comments = _text("Comments", required=False, help_text="Required if you decline: say why")

    def __init__(self, data: Any = None, *, requests: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.fields["number"].choices = requests  # type: ignore[attr-defined]
        if len(requests) == 1:
            self.initial["number"] = requests[0][0]


class AnswerAgreementForm(ChallengeChangeForm, AgreementAnswerFieldsForm):
    """Confirm or decline a request made to you about a challenge."""


def service_error_to_form(form: forms.Form, error: Any, extra: dict[str, str] | None = None) -> None:
    """Show a ``ServiceError`` on the form field it names (``field`` is the service's argument)."""
    field = error.field or ""
    if error.code == "stale_version":
        form.add_error(
            None,
            "Someone changed this challenge while you had this page open. "
            "Your change was not saved: go back to the challenge, check what changed and try again",
        )
        return
    candidates = [
        (extra or {}).get(field, ""),
        field,
        field.replace("directors_briefing.", "briefing_"),
        field.replace(".", "_"),  # a partner agency's "contact.email" is the form's contact_email
        field.replace("preconditions.", "precondition_"),
        field.split(".")[0],
    ]
    if field == "directors_briefing":
        candidates.append("briefing_author")
    for name in candidates:
        if name and name in form.fields:
            form.add_error(name, error.message)
            return
    form.add_error(None, error.message)


class CaseNoteCorrectionForm(forms.Form):
    body = forms.CharField(
        label="Correction",
        help_text="Say what the note should have said, or what it missed. The original is kept as it is.",
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=limits.MAX_TEXT,
        error_messages={
            "required": "Enter the correction",
            "max_length": f"The correction must be {limits.MAX_TEXT:,} characters or fewer",
        },
    )


# -- allocations ---------------------------------------------------------------------------------


class AllocationStartForm(forms.Form):
    case_number = forms.CharField(
        label="Case number",
        help_text="The child's number in the case system, for example LCS200100.",
        max_length=limits.CASE_NUMBER_MAX + 10,
        error_messages={
            "required": "Enter the child's case number",
            "max_length": f"A case number is {limits.CASE_NUMBER_RULE}",
        },
    )


class AllocationForm(forms.Form):
    """Who works with a child: the choices are the active people in each role, by name."""

    social_worker = forms.ChoiceField(
        label="Social worker",
        help_text="The child's team is the social worker's team.",
        error_messages={
            "required": "Choose the child's social worker",
            "invalid_choice": "Choose the child's social worker from the list",
        },
    )
    iro = forms.ChoiceField(
        label="IRO",
        required=False,
        error_messages={"invalid_choice": "Choose the child's IRO from the list, or no IRO"},
    )
    cp_chair = forms.ChoiceField(
        label="CP Chair",
        required=False,
        error_messages={"invalid_choice": "Choose the child's CP Chair from the list, or no CP Chair"},
    )
    reason = forms.CharField(
        label="Why is the allocation changing?",
        help_text=(
            "For example, the social worker has moved team. "
            "This is written in a case note on the child's record."
        ),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=limits.MAX_TEXT,
        error_messages={
            "required": "Enter the reason for the change",
            "max_length": f"The reason must be {limits.MAX_TEXT:,} characters or fewer",
        },
    )

    def __init__(
        self, data: Any, *, people: dict[str, list[tuple[str, str]]], initial: dict[str, str]
    ) -> None:
        super().__init__(data, initial=initial)
        self.fields["social_worker"].choices = [("", "Choose a social worker"), *people["social_worker"]]  # type: ignore[attr-defined]
        self.fields["iro"].choices = [("", "No IRO"), *people["iro"]]  # type: ignore[attr-defined]
        self.fields["cp_chair"].choices = [("", "No CP Chair"), *people["cp_chair"]]  # type: ignore[attr-defined]


class HandOverForm(forms.Form):
    """A leaver, the person their work goes to, and why: the choices are people by name."""

    leaver = forms.ChoiceField(
        label="Whose work is to be handed over?",
        help_text="Their children, the stages sent or copied to them, the actions they own and the requests "
        "waiting on their answer.",
        error_messages={
            "required": "Choose the person who is leaving",
            "invalid_choice": "Choose the person who is leaving from the list",
        },
    )
    successor = forms.ChoiceField(
        label="Who takes it over?",
        help_text=(
            "They must hold the roles the work needs: a social worker's children go to a social worker."
        ),
        error_messages={
            "required": "Choose who takes the work over",
            "invalid_choice": "Choose who takes the work over from the list",
        },
    )
    reason = forms.CharField(
        label="Why is the work handed over?",
        help_text="For example, they have left the authority. This is written in the case notes.",
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=limits.MAX_TEXT,
        error_messages={
            "required": "Enter why the work is handed over",
            "max_length": f"The reason must be {limits.MAX_TEXT:,} characters or fewer",
        },
    )

    def __init__(
        self, data: Any, *, leavers: list[tuple[str, str]], successors: list[tuple[str, str]]
    ) -> None:
        super().__init__(data)
        self.fields["leaver"].choices = [("", "Choose a person"), *leavers]  # type: ignore[attr-defined]
        self.fields["successor"].choices = [("", "Choose a person"), *successors]  # type: ignore[attr-defined]


# -- the action plan, agreed timescales and concerns ---------------------------------------------


class ActionAddForm(ChallengeChangeForm):
    """A SMART action agreed at any point: what, by whom (a person in Resolve or someone outside), by when."""

    action = _text("What needs to happen?", "Enter what needs to happen")
    owner_user = forms.ChoiceField(label="By whom: someone in Resolve", required=False)
    owner = forms.CharField(
        label="Or by whom: someone outside Resolve",
        required=False,
        max_length=limits.MAX_KEY,
        help_text="Their name and organisation, for example Dr A Patel, school nurse",
        error_messages={"max_length": f"Use {limits.MAX_KEY} characters or fewer"},
    )
    due = DateField(noun="date the action is due by", label="By when")

    def __init__(self, data: Any = None, *, people: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.fields["owner_user"].choices = [("", "Choose a person"), *people]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("owner_user") and not cleaned.get("owner") and "owner" not in self.errors:
            self.add_error("owner_user", "Choose who will do it, or name someone outside Resolve")
        elif cleaned.get("owner_user") and cleaned.get("owner"):
            self.add_error("owner", "Choose a person in Resolve or name someone outside it, not both")
        return cleaned


class ActionRedateForm(ChallengeChangeForm):
    due = DateField(noun="new date", label="New date the action is due by")
    reason = _text("Why is the date changing?", "Enter why the date is changing")


class ActionCloseForm(ChallengeChangeForm):
    status = forms.ChoiceField(
        label="Was the action done?",
        choices=[("done", "Done"), ("not_done", "Not done")],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose done or not done", "invalid_choice": "Choose done or not done"},
    )
    reason = _text("If it was not done, why not?", required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("status") == "not_done" and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", "Enter why the action was not done")
        return cleaned


class ExtensionForm(ChallengeChangeForm):
    due = DateField(noun="new response date", label="New response date")
    agreed_by = forms.ChoiceField(
        label="Who agreed the extension?", error_messages={"required": "Choose who agreed the extension"}
    )
    reason = _text("Why was the extension agreed?", "Enter why the extension was agreed")

    def __init__(self, data: Any = None, *, people: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.fields["agreed_by"].choices = [("", "Choose a person"), *people]  # type: ignore[attr-defined]


class ConcernForm(forms.Form):
    """A concern noted on the child's record without starting a challenge (seed 001's pre-review work)."""

    track = forms.ChoiceField(
        label="Which role are you recording this as?",
        widget=forms.RadioSelect,
        error_messages={"required": "Choose whether you are the child's IRO or CP Chair"},
    )
    procedure = forms.ChoiceField(
        label="Which procedure would a challenge follow?",
        error_messages={"required": "Choose the procedure", "invalid_choice": "Choose the procedure"},
    )
    concern = _text("What is the concern?", "Enter what the concern is")
    review = forms.ChoiceField(
        label="Which review did it come from? (optional)",
        required=False,
        choices=[("", "Not from a review"), *REVIEWS.items()],
    )
    review_on = DateField(noun="date of the review", label="Date of the review", required=False)
    on = DateField(
        noun="date of the concern",
        label="Date you raised it with the social worker or team manager",
        required=False,
        help_text="Leave blank for today. For example, 27 3 2026",
    )

    def __init__(
        self, data: Any = None, *, tracks: list[tuple[str, str]], procedures: list[tuple[str, str]]
    ) -> None:
        super().__init__(data)
        self.fields["track"].choices = tracks  # type: ignore[attr-defined]
        self.fields["procedure"].choices = procedures  # type: ignore[attr-defined]
        if tracks and not self.is_bound:
            self.initial["track"] = tracks[0][0]


# -- a Cafcass referral with no challenge (seeds 000 and 004) -------------------------------------
class ChildCafcassForm(CafcassFieldsForm):
    """Refer a looked-after child's case to Cafcass with no challenge."""

    reason = _text(
        "Why are you referring the case to Cafcass?",
        "Enter why you are referring the case to Cafcass",
        help_text="How the child's rights or welfare are at risk, and why the ladder would not help in time",
    )
    on = DateField(
        noun="date of the referral",
        label="Date of the referral",
        required=False,
        help_text="Leave blank for today. For example, 27 3 2026",
    )
    urgent_words = (
        "Without a challenge a referral cuts the process short before {before}: mark it urgent and say in "
        "the reason why the child's timetable cannot wait"
    )

    def __init__(
        self,
        data: Any = None,
        *,
        checklist: list[tuple[str, str]],
        required_checklist: list[str],
        urgent_before: str,
        preconditions_unmet: list[str],
    ) -> None:
        super().__init__(
            data,
            checklist=checklist,
            required_checklist=required_checklist,
            urgent_required=bool(urgent_before),
            urgent_before=urgent_before,
            preconditions_unmet=preconditions_unmet,
        )


class ChildAgreementRequestForm(AgreementRequestFieldsForm):
    """Ask a named person to agree to (or tell them of) a referral with no challenge."""

    subject_field = "key"
    key = _subject_field()
    field_order = ["key", "person", "note"]


class ChildAgreementAnswerForm(AgreementAnswerFieldsForm):
    """Confirm or decline a request made to you about a referral with no challenge."""


class ConcernCloseForm(forms.Form):
    """Close a concern without a challenge."""

    reason = _text(
        "Why are you closing the concern?",
        "Enter why you are closing the concern",
        help_text="What the social worker or team manager did to put it right",
    )
    on = DateField(
        noun="date it was closed",
        label="Date it was put right",
        required=False,
        help_text="Leave blank for today. For example, 27 3 2026",
    )
