from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory

from resolve.calendars.admin import NonWorkingDayAdmin, YearListFilter
from resolve.calendars.models import NonWorkingDay

pytestmark = pytest.mark.django_db


def test_admin_filters_by_nation_kind_and_year_and_searches_names() -> None:
    model_admin = site._registry[NonWorkingDay]
    assert isinstance(model_admin, NonWorkingDayAdmin)
    assert model_admin.list_filter[:2] == ["nation", "kind"]
    assert model_admin.search_fields == ["name"]

    request = RequestFactory().get("/", {"year": "2026"})
    year_filter = YearListFilter(request, {"year": ["2026"]}, NonWorkingDay, model_admin)
    assert ("2026", "2026") in year_filter.lookups(request, model_admin)
    rows = year_filter.queryset(request, NonWorkingDay.objects.all())
    assert rows.exists()
    assert {row.date.year for row in rows} == {2026}
    assert min(row.date for row in rows) >= dt.date(2026, 1, 1)
