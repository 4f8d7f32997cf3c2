"""Staff, teams and the management line.

A *post* says that a person holds a role, either in a team (a social work team's Team Manager, the
IRO service's Team Manager) or across the authority (Director of Children's Services). The line
that a stage's recipient is drawn from is found by role: first in the team concerned, then
authority-wide.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from resolve.people.roles import ROLES


class Team(models.Model):
    class Kind(models.TextChoices):
        SOCIAL_WORK = "social_work", "Social work team"
        CHAIRS = "chairs", "IRO / Child Protection Chairs service"

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Post(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts")
    role = models.CharField(max_length=40, choices=[(role.key, role.label) for role in ROLES.values()])
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="posts",
        help_text="Leave empty for an authority-wide post.",
    )
    # Single sign-on adds and removes only the posts it made; a post made by hand is never touched.
    from_sso = models.BooleanField(
        "From single sign-on",
        default=False,
        help_text="Made from the person's identity-provider groups and kept in step with them at every "
        "sign-in. Leave unticked for a post made by hand.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "team"], name="post_unique_per_team"),
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=models.Q(team__isnull=True),
                name="post_unique_authority_wide",
            ),
        ]
        indexes = [models.Index(fields=["role", "team"])]

    def __str__(self) -> str:
        where = self.team.name if self.team is not None else "authority-wide"
        return f"{self.user}, {ROLES[self.role].label} ({where})"
