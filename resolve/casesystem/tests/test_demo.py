"""Issue 15, done means: "A fresh demo can be populated entirely from sample LCS-style and Mosaic-style
files shipped in the repository (synthetic people only)"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from resolve.audit.verify import verify_all
from resolve.challenges.models import Challenge
from resolve.children.models import Child

pytestmark = pytest.mark.django_db


def test_the_demo_is_built_from_the_sample_export(monkeypatch, capsys):
    monkeypatch.setenv("DEMO_PASSWORD", "a-demo-password-for-tests")
    call_command("load_demo_from_samples")
    out = capsys.readouterr().out
    assert "Imported" in out and "Raised challenges on 36 children" in out
    assert Child.objects.filter(case_number__startswith="LCS").count() == 36
    assert Child.objects.filter(case_number__startswith="MOS").count() == 12
    assert (
        Challenge.objects.filter(status="open").exists()
        and Challenge.objects.filter(status="resolved").exists()
    )
    assert User.objects.get(username="iro").check_password("a-demo-password-for-tests")
    assert list(verify_all()) == []
    # Again: nothing new.
    call_command("load_demo_from_samples")
    assert "already recorded" in capsys.readouterr().out
    assert Child.objects.count() == 48
    assert Child.objects.get(case_number="LCS200100").date_of_birth == dt.date(2008, 1, 1)
