"""The role-to-permission map: complete, agreeing with the procedures, and with docs/permissions.md."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest
from django.conf import settings

from resolve.access.permissions import GRANTS, Perm, permissions_markdown, roles_with
from resolve.people.roles import ROLES
from resolve.procedures.loader import procedure_load_file


def test_every_role_has_a_grant() -> None:
    assert set(GRANTS) == set(ROLES)


def test_admins_see_no_child_by_role() -> None:
    assert GRANTS["admin"].scope == "none"
    assert Perm.VIEW_RECORDS not in GRANTS["admin"].perms


def test_shipped_procedures_name_roles_the_map_allows() -> None:
    for path in sorted(Path(settings.RESOLVE_POLICY_DIR).glob("*.toml")):
        procedure = procedure_load_file(path)
        for stage in procedure.stages:
            # A partner agency's stage goes to its contact outside Resolve: the chairs record the reply.
            to = stage.to_role if stage.to_role is not None else "iro"
            assert procedure.partner_agency or stage.to_role is not None, f"{path.name}: {stage.key}"
            assert to in roles_with(Perm.RESPOND), f"{path.name}: {stage.key} is sent to {stage.to_role}"
            if procedure.partner_agency:
                assert "cp_chair" in roles_with(Perm.RESPOND)
        final = procedure.resolution.final_comments_role
        if final:
            assert final in roles_with(Perm.ADD_FINAL_COMMENTS), f"{path.name}: final comments by {final}"
        completer = procedure.cafcass.form_completed_by
        if completer:
            assert completer in roles_with(Perm.REFER_TO_CAFCASS), f"{path.name}: Cafcass form by {completer}"
        for precondition in procedure.cafcass.requires:
            assert precondition.role in roles_with(Perm.ANSWER_REQUEST), f"{path.name}: {precondition.key}"
        for stage in procedure.stages:
            for meeting in stage.meetings():
                # Whoever chairs a meeting records its minutes.
                for role in filter(None, (meeting.chair_role, meeting.minutes_by_role)):
                    assert role in roles_with(Perm.RECORD_MEETING), (
                        f"{path.name}: {stage.key} chaired by {role}"
                    )


def test_the_generated_table_is_up_to_date() -> None:
    committed = Path(settings.BASE_DIR, "docs", "permissions.md").read_text(encoding="utf-8")
    assert committed == permissions_markdown(), "run: python manage.py permissions_table"


@cache
def _perms_checked_in_code() -> dict[str, list[str]]:
    """Every ``Perm.<NAME>`` in the application code (not the map itself, not tests), by name."""
    root = Path(settings.BASE_DIR)
    found: dict[str, list[str]] = {}
    for path in sorted([*root.glob("resolve/**/*.py"), *root.glob("config/**/*.py")]):
        relative = path.relative_to(root).as_posix()
        if "/tests/" in relative or relative == "resolve/access/permissions.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "Perm"
            ):
                found.setdefault(node.attr, []).append(f"{relative}:{node.lineno}")
    return found


@pytest.mark.parametrize("perm", list(Perm))
def test_every_permission_in_the_map_is_checked_somewhere(perm: Perm) -> None:
    """A permission nothing checks misleads whoever reviews the map: enforce it, or remove it."""
    assert perm.name in _perms_checked_in_code(), f"nothing outside the map reads Perm.{perm.name}"
