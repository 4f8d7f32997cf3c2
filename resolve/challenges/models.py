"""Challenges and everything recorded about them.

The ``Challenge`` row holds the current state (what the engine reads); ``StageVisit``, ``Response``,
``Meeting``, ``Action``, ``Document`` and ``CafcassReferral`` hold what was recorded; ``Event`` is the
append-only log of every change, written by the same transaction as the change itself.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from resolve.append_only import AppendOnlyModel
from resolve.audit.chain import SealedModel, event_fields, sealed_insert
from resolve.challenges.events import RESPONSES, REVIEWS
from resolve.children.models import Child
from resolve.people.models import Team
from resolve.procedures.models import PolicyVersion

# The child's fields the challenge holds a copy of (as the same names), for its scope and its lists.
ALLOCATION_COPIED = ("team_id", "social_worker_id", "iro_id", "cp_chair_id")


CHAIR_QUEUE_HELD = ("stage_responded_on", "track", "formal_due_on")
ALL_QUEUE_HELD = ("stage_responded_on", "policy", "stage_key")


def _due_indexes(prefix: str, *leading: str, held: tuple[str, ...] = ()) -> list[models.Index]:
    """Two partial indexes in the queues' due-date order (status, due date, raised, id), one of the
    unanswered stages and one of the answered (``<prefix>unanswered_due``, ``<prefix>answered_due``),
    of the challenges ``leading`` picks out (a team's, a chair's; all without it), each also holding
    the columns ``held`` that a queue checks of a row."""
    fields = [*leading, "status", "stage_due_on", "raised_on", "id", *held]
    return [
        models.Index(
            fields=fields,
            name=f"{prefix}{kind}_due",
            condition=models.Q(stage_responded_on__isnull=unanswered),
        )
        for kind, unanswered in (("unanswered", True), ("answered", False))
    ]


class Challenge(SealedModel):
    class Track(models.TextChoices):
        IRO = "iro", "IRO (looked-after child)"
        CPC = "cpc", "CP Chair (child protection or child in need)"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"
        WITHDRAWN = "withdrawn", "Withdrawn"

    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="challenges")
    track = models.CharField(max_length=3, choices=Track.choices)
    policy = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="challenges")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="challenges_raised"
    )
    raised_on = models.DateField()
    concern = models.TextField(help_text="What are we worried about? What has been done to resolve it?")
    impact_on_child = models.TextField(help_text="Outcome and impact for the child.")
    desired_outcome = models.TextField(blank=True)
    themes = models.JSONField(default=list)

    # The current stage (empty when the challenge is not open).
    stage_key = models.CharField(max_length=64, blank=True)
    stage_entered_on = models.DateField(null=True, blank=True)
    stage_due_on = models.DateField(null=True, blank=True)
    stage_responded_on = models.DateField(null=True, blank=True)
    formal_started_on = models.DateField(null=True, blank=True)
    formal_due_on = models.DateField(null=True, blank=True)
    cafcass_referred_on = models.DateField(null=True, blank=True)
    last_event_on = models.DateField()
    documents = models.JSONField(default=list)

    outcome = models.TextField(blank=True)
    learning_points = models.TextField(blank=True)
    resolved_on = models.DateField(null=True, blank=True)
    final_comments = models.TextField(blank=True)
    final_comments_on = models.DateField(null=True, blank=True)

    # The review that triggered the challenge (``events.REVIEWS``), the chair's own deadline counted
    # from it where the procedure sets one, and the concern the challenge carries, if any.
    trigger_review = models.CharField(max_length=32, blank=True)
    trigger_review_on = models.DateField(null=True, blank=True)
    chair_due_on = models.DateField(null=True, blank=True)
    from_concern = models.OneToOneField(
        "Concern", on_delete=models.PROTECT, null=True, blank=True, related_name="challenge"
    )
    # A challenge to a partner agency (seed 000 section 2): the agency and its kind (the procedure's
    # ``agency_kinds``); empty on the authority's own ladder.
    agency = models.CharField(max_length=200, blank=True)
    agency_kind = models.CharField(max_length=64, blank=True)

    # The child's allocation, copied onto the challenge so that the scope and the lists filter and
    # sort on this one row, each with an index in the lists' order (docs/performance.md, "Lists").
    # Set by the write path (``services._write``) and moved with the child by every change of
    # allocation (``resolve.access.child_challenges_follow``); not evidence: the child's record and
    # its "Allocation changed" case notes are.
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    social_worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    iro = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name="IRO",
    )
    cp_chair = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name="CP Chair",
    )

    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # ``updated_at`` is rewritten on every save; the allocation's copies follow the child's record.
    evidence_exclude = ("updated_at", *ALLOCATION_COPIED)
    evidence_added_later = (
        "trigger_review",
        "trigger_review_on",
        "chair_due_on",
        "from_concern_id",
        "agency",
        "agency_kind",
    )

    class Meta:
        ordering = ["-raised_on", "-id"]
        indexes = [
            # By due date within a status, then the order raised: the "due" order (and a filter on the
            # due date) walks it to a page, without sorting the challenges due on the same day.
            models.Index(fields=["status", "stage_due_on", "raised_on", "id"], name="challenge_due_order"),
            # The same, for the unanswered stages and for the answered ones: the home page's queues read
            # each stretch of their "overdue first" order from one of them (``queues.Part``) and stop
            # after a page, where a filter on the answer over the index above would read every
            # challenge of the other kind to find none. With the columns a queue asks of each row
            # there (the answer; the procedure and stage, for "a meeting you chair"), so that the
            # Director's queues check a row without reading the challenge.
            *_due_indexes("challenge_", held=ALL_QUEUE_HELD),
            # The same two for one team's challenges (on the copy of its child's team), with the answer
            # as a column too: a team manager's "your team's challenges" walks their team's stretches
            # on them and checks each row (is it waiting on them?) without reading the challenge.
            *_due_indexes("challenge_team_", "team", held=("stage_responded_on",)),
            # The same for one chair's challenges (an IRO's, a conference chair's), with every column the
            # chair's queues ask of a row (the answer, the track, the formal limit): "needs your
            # decision" and "waiting on others" walk a chair's own stretches on them, from the index
            # alone.
            *_due_indexes("challenge_iro_", "iro", held=CHAIR_QUEUE_HELD),
            *_due_indexes("challenge_cpc_", "cp_chair", held=CHAIR_QUEUE_HELD),
            models.Index(fields=["child", "status"]),
            # The challenges at a stage of a procedure: "a meeting you chair is due at this stage".
            models.Index(fields=["stage_key", "policy", "status"], name="challenge_stage"),
            # The lists' order (newest raised first), with and without the status filter: the
            # database walks the index and stops at a page, instead of sorting every visible row.
            models.Index(fields=["-raised_on", "-id"], name="challenge_list_order"),
            models.Index(fields=["status", "-raised_on", "-id"], name="challenge_status_list_order"),
            models.Index(fields=["agency_kind", "agency"], name="challenge_agency"),
            # The scope's columns, each followed by the lists' order: a person's challenges by their
            # part in them (or their team's), newest raised first, read from one index.
            models.Index(fields=["team", "-raised_on", "-id"], name="challenge_team_list_order"),
            models.Index(fields=["social_worker", "-raised_on", "-id"], name="challenge_worker_list_order"),
            models.Index(fields=["iro", "-raised_on", "-id"], name="challenge_iro_list_order"),
            models.Index(fields=["cp_chair", "-raised_on", "-id"], name="challenge_cpc_list_order"),
            models.Index(fields=["raised_by", "-raised_on", "-id"], name="challenge_raiser_list_order"),
        ]

    def __str__(self) -> str:
        return f"Challenge {self.pk} for {self.child}"

    def allocation_copy(self, child: Child) -> None:
        """Copy ``child``'s allocation onto the challenge (saved with its next save)."""
        for column in ALLOCATION_COPIED:
            setattr(self, column, getattr(child, column))

    @property
    def evidence_challenge_id(self) -> int:
        return int(self.pk)


class StageVisit(SealedModel):
    """One time a challenge sat at a stage: who it went to, when it was due, when and how it left."""

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="visits")
    sequence = models.PositiveIntegerField()
    stage_key = models.CharField(max_length=64)
    entered_on = models.DateField()
    due_on = models.DateField(null=True, blank=True)
    left_on = models.DateField(null=True, blank=True)
    left_how = models.CharField(max_length=20, blank=True)
    response = models.CharField(max_length=20, blank=True)
    responded_on = models.DateField(null=True, blank=True)
    meetings = models.PositiveIntegerField(default=0)
    to_users = models.JSONField(default=list, help_text="Usernames the stage was sent to.")
    cc_users = models.JSONField(default=list, help_text="Usernames copied in.")
    notify_users = models.JSONField(
        default=list, help_text="Usernames told of the stage without being copied."
    )
    procedure_due_on = models.DateField(
        null=True, blank=True, help_text="The procedure's response date, when the chair set an earlier one."
    )
    extended_from = models.DateField(
        null=True, blank=True, help_text="The response date before the first agreed extension."
    )
    # On a partner agency's ladder: the contact at the agency the stage went to (no account).
    contact_name = models.CharField(max_length=100, blank=True)
    contact_role = models.CharField(max_length=100, blank=True)
    contact_email = models.EmailField(max_length=200, blank=True)

    evidence_added_later = (
        "procedure_due_on",
        "extended_from",
        "contact_name",
        "contact_role",
        "contact_email",
    )

    class Meta:
        ordering = ["challenge", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["challenge", "sequence"], name="visit_sequence_unique")
        ]

    def __str__(self) -> str:
        return f"{self.stage_key} from {self.entered_on}"


class StageWait(models.Model):
    """One person the current stage of an open challenge names: sent to (``to``), copied in (``cc``) or
    told (``notify``), with the stage's due date, whether it is answered and the day the challenge was
    raised, so that the home page's queues read a person's rows from one index in their order
    (``stage_wait_queue_order``) instead of matching every current visit's JSON lists.

    Derived, never written by Python: triggers on ``StageVisit`` (migration
    ``0015_stage_waits_kept_by_triggers``) delete a visit's rows and write them again in the
    statement that inserts, updates or deletes the visit, for a visit that has not been left. So
    every writer of a visit keeps them in its own transaction without a statement of its own (the
    transition's upsert, a leaver's hand-over, retention, ``load_bulk``'s bulk insert or COPY). Not
    evidence: no seal covers them; the visit's own lists are the record.
    """

    class How(models.TextChoices):
        TO = "to", "Sent to"
        CC = "cc", "Copied in"
        NOTIFY = "notify", "Told"

    # DO_NOTHING: the triggers delete a visit's rows with the visit (and a challenge's visits go first).
    # Indexed with the person and the kind (``stage_wait_challenge_person``): whether one challenge's
    # current stage names a person is asked row by row (``queues``), from the index alone.
    challenge = models.ForeignKey(
        Challenge, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    visit = models.ForeignKey(StageVisit, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
    # The username as the visit's lists hold it (what the queues matched before), not an account id.
    username = models.CharField(max_length=150)
    how = models.CharField(max_length=6, choices=How.choices)
    answered = models.BooleanField(help_text="The stage's response is recorded.")
    due_on = models.DateField(null=True, blank=True)
    raised_on = models.DateField()

    class Meta:
        indexes = [
            # A person's rows of one kind, unanswered first, in the queues' order (due date, raised, id).
            models.Index(
                fields=["username", "how", "answered", "due_on", "raised_on", "challenge"],
                name="stage_wait_queue_order",
            ),
            models.Index(
                fields=["challenge", "username", "how", "answered"], name="stage_wait_challenge_person"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.username} ({self.how}) on challenge {self.challenge_id}"


class Response(AppendOnlyModel, SealedModel):
    challenge = models.ForeignKey(Challenge, on_delete=models.PROTECT, related_name="responses")
    visit = models.ForeignKey(StageVisit, on_delete=models.PROTECT, related_name="responses")
    response = models.CharField(max_length=20)
    comments = models.TextField(blank=True)
    on = models.DateField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["on", "id"]

    @property
    def label(self) -> str:
        """The response in the words of the seeds ("Agree and able to implement")."""
        return RESPONSES.get(self.response, self.response)


class Meeting(AppendOnlyModel, SealedModel):
    """A meeting at a stage. Append-only: a request (``requested``: its date, chair and invitees) is
    one row, and the meeting held, with its minutes (``summary``), another that points at it."""

    challenge = models.ForeignKey(Challenge, on_delete=models.PROTECT, related_name="meetings")
    visit = models.ForeignKey(StageVisit, on_delete=models.PROTECT, related_name="meeting_records")
    held_on = models.DateField(null=True, blank=True, help_text="Empty on a request.")
    summary = models.TextField(help_text="The minutes; on a request, what it is asked for.")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)
    # Requested, scheduled, chaired, attended (issue 9); 0 and the defaults for a meeting only recorded.
    number = models.PositiveIntegerField(default=0, help_text="1, 2, 3... for requested meetings.")
    meeting_key = models.CharField(
        max_length=64, default="meeting", help_text="Which of the stage's meetings."
    )
    requested = models.BooleanField(default=False, help_text="This row is the request for the meeting.")
    scheduled_for = models.DateField(null=True, blank=True)
    chair = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="meetings_chaired",
    )
    attendees = models.JSONField(
        default=list, help_text="Usernames of the people in Resolve invited or there."
    )
    outsiders = models.JSONField(default=list, help_text="Names of people from outside Resolve.")
    request = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="records"
    )
    actions_on_time = models.BooleanField(
        null=True, blank=True, help_text="Actions recorded within the procedure's hours (when it sets them)."
    )

    class Meta:
        ordering = ["held_on", "id"]


class Action(SealedModel):
    """A SMART action: what, by when, by whom. Its status changes; each change is an event."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        NOT_DONE = "not_done", "Not done"

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="actions")
    action = models.TextField()
    owner = models.CharField(max_length=200)
    due = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    status_on = models.DateField(null=True, blank=True)
    # The owner as a person in Resolve, when there is one; ``owner`` then holds their username.
    # Without one, ``owner`` names someone outside Resolve, who owns nothing in its scoping or feeds.
    owner_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="actions_owned",
    )
    status_reason = models.TextField(blank=True, help_text="Why the action was not done.")

    evidence_added_later = ("owner_user_id", "status_reason")

    class Meta:
        ordering = ["due", "id"]
        indexes = [models.Index(fields=["status", "due"])]

    def __str__(self) -> str:
        return f"{self.action} (by {self.owner}, {self.due})"


class Document(AppendOnlyModel, SealedModel):
    """A document a stage requires, such as the Director's briefing."""

    challenge = models.ForeignKey(Challenge, on_delete=models.PROTECT, related_name="document_records")
    kind = models.CharField(max_length=40)
    content = models.JSONField()
    on = models.DateField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)


def child_records_chain(child_id: int) -> str:
    """The records chain of what is recorded on a child with no challenge (a Cafcass referral and the
    requests for agreement it needs)."""
    return f"child-records:{child_id}"


class CafcassReferral(AppendOnlyModel, SealedModel):
    """A referral to Cafcass: of a challenge (``challenge``), or of the child's case with no challenge
    (``child`` and the procedure that decided it, ``policy``: seed 000's "out with the Outcome
    Resolution"). Exactly one of the two; a referral with no challenge is sealed into the child's
    records chain (``child-records:<id>``)."""

    challenge = models.OneToOneField(
        Challenge, on_delete=models.PROTECT, null=True, blank=True, related_name="cafcass_referral"
    )
    child = models.ForeignKey(
        Child, on_delete=models.PROTECT, null=True, blank=True, related_name="cafcass_referrals"
    )
    policy = models.ForeignKey(
        PolicyVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="cafcass_referrals"
    )
    on = models.DateField()
    reason = models.TextField()
    urgent = models.BooleanField(default=False)
    checklist = models.JSONField()
    preconditions = models.JSONField(help_text="Precondition key → username of who agreed or was told.")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)
    agreements_upto = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="With no challenge: the child's requests for agreement numbered up to this one were made "
        "before the referral, and count for no later one.",
    )

    evidence_added_later = ("child_id", "policy_id", "agreements_upto")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(challenge__isnull=False, child__isnull=True, policy__isnull=True)
                    | models.Q(challenge__isnull=True, child__isnull=False, policy__isnull=False)
                ),
                name="cafcass_referral_challenge_or_child",
            )
        ]
        indexes = [models.Index(fields=["child", "on"], name="cafcass_referral_child_on")]

    @property
    def evidence_chain(self) -> str:
        if self.challenge_id is None:
            return child_records_chain(int(self.child_id))  # type: ignore[arg-type]
        return super().evidence_chain


class Concern(AppendOnlyModel):
    """A concern the chair noted on the child's record without starting a challenge (seed 001: "Any
    concerns will be identified by IRO ... and recorded as" the case-note type its procedure names).

    It may later become an informal challenge, which then carries it (``Challenge.from_concern``).
    """

    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="concerns")
    track = models.CharField(max_length=3, choices=Challenge.Track.choices)
    policy = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="concerns")
    concern = models.TextField()
    review = models.CharField(
        max_length=32, blank=True, choices=list(REVIEWS.items()), help_text="The review it came from."
    )
    review_on = models.DateField(null=True, blank=True)
    on = models.DateField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-on", "-id"]

    def __str__(self) -> str:
        return f"Concern {self.pk} for {self.child}"


class ConcernClosure(AppendOnlyModel):
    """A concern closed by the chair without becoming a challenge (the social worker or team manager
    put it right): the reminders of the chair's deadline stop, and no challenge can carry it."""

    concern = models.OneToOneField(Concern, on_delete=models.PROTECT, related_name="closure")
    on = models.DateField()
    reason = models.TextField()
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Concern {self.concern_id} closed on {self.on}"


class Event(AppendOnlyModel):
    """One thing that happened to a challenge. Never edited, never deleted."""

    challenge = models.ForeignKey(Challenge, on_delete=models.PROTECT, related_name="events")
    sequence = models.PositiveIntegerField()
    type = models.CharField(max_length=40)
    stage_key = models.CharField(max_length=64, blank=True)
    on = models.DateField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)
    detail = models.JSONField(default=dict)
    # Set before the insert (not auto_now_add) so that the hash can cover it.
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # The evidence hash chain (resolve/audit/chain.py): HMAC of this row's fields and previous_hash.
    previous_hash = models.CharField(max_length=64, blank=True, editable=False)
    hash = models.CharField(max_length=64, blank=True, editable=False)
    key_id = models.CharField(max_length=16, blank=True, editable=False, help_text="The key that sealed it.")

    class Meta:
        ordering = ["challenge", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["challenge", "sequence"], name="event_sequence_unique")
        ]
        indexes = [models.Index(fields=["on"])]

    @property
    def evidence_chain(self) -> str:
        return f"challenge:{self.challenge_id}"

    def number(self, length: int) -> None:
        """Number the event after the ``length`` events its challenge's chain holds."""
        self.sequence = length + 1

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            super().save(*args, **kwargs)  # refused: evidence is never edited
            return
        sealed_insert(
            self,
            chain=self.evidence_chain,
            fields=event_fields,
            save=lambda: super(Event, self).save(*args, **kwargs),
        )


class Agreement(SealedModel):
    """A request to a named person to agree to (or be told of) a bypass or a Cafcass referral, and
    their answer: who asked whom, when, and when they confirmed or declined (seeds 001, 002, 003)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for an answer"
        CONFIRMED = "confirmed", "Confirmed"
        DECLINED = "declined", "Declined"

    challenge = models.ForeignKey(
        Challenge, on_delete=models.CASCADE, null=True, blank=True, related_name="agreements"
    )
    # A request for a Cafcass referral with no challenge is made on the child (and numbered there).
    child = models.ForeignKey(
        Child, on_delete=models.PROTECT, null=True, blank=True, related_name="cafcass_agreements"
    )
    number = models.PositiveIntegerField(help_text="1, 2, 3... on its challenge (or its child).")
    purpose = models.CharField(max_length=10, help_text="cafcass or bypass")
    key = models.CharField(
        max_length=64, help_text="The Cafcass precondition's key, or the stage bypassed to."
    )
    kind = models.CharField(max_length=10, default="agree", help_text="agree or inform")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="agreements_asked"
    )
    role = models.CharField(max_length=64)
    note = models.TextField()
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="agreements_requested"
    )
    requested_on = models.DateField()
    requested_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    answered_on = models.DateField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    comments = models.TextField(blank=True)

    class Meta:
        ordering = ["challenge", "number"]
        constraints = [
            models.UniqueConstraint(fields=["challenge", "number"], name="agreement_number_unique"),
            models.UniqueConstraint(
                fields=["child", "number"],
                condition=models.Q(challenge__isnull=True),
                name="agreement_child_number_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(challenge__isnull=False, child__isnull=True)
                | models.Q(challenge__isnull=True, child__isnull=False),
                name="agreement_challenge_or_child",
            ),
        ]
        indexes = [models.Index(fields=["person", "status"])]

    evidence_added_later = ("child_id",)

    def __str__(self) -> str:
        where = f"challenge {self.challenge_id}" if self.challenge_id else f"child {self.child_id}"
        return f"Request {self.number} on {where} to {self.person}"

    @property
    def evidence_chain(self) -> str:
        if self.challenge_id is None:
            return child_records_chain(int(self.child_id))  # type: ignore[arg-type]
        return super().evidence_chain
