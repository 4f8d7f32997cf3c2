"""The role-to-permission map: complete, agreeing with the procedures, and with docs/permissions.md."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from resolve.access.permissions import GRANTS, Perm, permissions_markdown, roles_with
from resolve.people.roles import ROLES
from resolve.policies.loader import policy_load_file


def test_every_role_has_a_grant() -> None:
    assert set(GRANTS) == set(ROLES)


def test_admins_see_no_child_by_role() -> None:
    assert GRANTS["admin"].scope == "none"
    assert Perm.VIEW_RECORDS not in GRANTS["admin"].perms


def test_shipped_procedures_name_roles_the_map_allows() -> None:
    for path in sorted(Path(settings.RESOLVE_POLICY_DIR).glob("*.toml")):
        policy = policy_load_file(path)
        for stage in policy.stages:
            assert stage.to_role in roles_with(Perm.RESPOND), (
                f"{path.name}: {stage.key} is sent to {stage.to_role}"
            )
        final = policy.resolution.final_comments_role
        if final:
            assert final in roles_with(Perm.ADD_FINAL_COMMENTS), f"{path.name}: final comments by {final}"


def test_the_generated_table_is_up_to_date() -> None:
    committed = Path(settings.BASE_DIR, "docs", "permissions.md").read_text(encoding="utf-8")
    assert committed == permissions_markdown(), "run: python manage.py permissions_table"
