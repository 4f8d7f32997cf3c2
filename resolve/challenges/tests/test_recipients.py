"""Who a stage goes to: the child's own social worker, and only people who are still in post."""

from __future__ import annotations

import datetime as dt

import time_machine
from django.contrib.auth.models import User

from resolve.challenges import services
from resolve.children.models import CaseNote
from resolve.people.models import Post
from resolve.testing.challenges import raise_challenge

TODAY = "2027-01-04 10:00"


@time_machine.travel(TODAY, tick=False)
def test_a_stage_to_the_social_worker_goes_to_the_childs_own_worker_only(authority, child):
    colleague = User.objects.create(username="social_worker_3", first_name="Sam", last_name="Other")
    Post.objects.create(user=colleague, role="social_worker", team=authority.teams["social_work"])
    challenge = raise_challenge(
        authority,
        child,
        procedure_key="qa_issue_resolution",
        concern="No visit",
        impact_on_child="Unseen",
    )
    visit = challenge.visits.get()
    assert visit.to_users == ["social_worker"]
    assert visit.cc_users == ["team_manager"]
    note = CaseNote.objects.get(challenge=challenge)
    assert "To: Sophie Walker (social_worker)." in note.body
    assert "social_worker_3" not in note.body


@time_machine.travel(TODAY, tick=False)
def test_a_manager_who_has_left_is_replaced_by_the_authority_wide_post(authority, child):
    authority.staff["team_manager"].is_active = False
    authority.staff["team_manager"].save()
    cover = User.objects.create(username="cover_manager", first_name="Cora", last_name="Cover")
    Post.objects.create(user=cover, role="team_manager", team=None)
    challenge = raise_challenge(
        authority,
        child,
        procedure_key="qa_issue_resolution",
        stage="stage_2",
        bypass_reason="Serious",
        concern="No visit",
        impact_on_child="Unseen",
        on=dt.date(2027, 1, 4),
    )
    assert challenge.visits.get().to_users == ["cover_manager"]


@time_machine.travel(TODAY, tick=False)
def test_people_the_procedure_says_are_notified_are_told_and_named(authority, child):
    """Seed 001, stage 3: "Principal Social Worker and Service Director to be notified"."""
    from resolve.notifications.models import Kind, OutboxMessage

    challenge = raise_challenge(
        authority,
        child,
        procedure_key="cla_dispute_resolution",
        stage="stage_3",
        bypass_reason="Serious",
        bypass_agreed_by="iro_service_manager",
        concern="No visit",
        impact_on_child="Unseen",
    )
    visit = challenge.visits.get()
    assert visit.notify_users == ["principal_social_worker", "service_director"]
    told = OutboxMessage.objects.filter(challenge=challenge, kind=Kind.STAGE_NOTIFIED)
    assert sorted(message.recipient.username for message in told) == [
        "principal_social_worker",
        "service_director",
    ]
    # The raising note; the second asks the named CPRU Service Manager to confirm the bypass.
    note = CaseNote.objects.filter(challenge=challenge).order_by("id").first()
    assert note is not None
    assert "Told: Priya Singh (principal_social_worker), Stephen Doyle (service_director)." in note.body


@time_machine.travel(TODAY, tick=False)
def test_a_cafcass_referral_is_reported_to_the_iro_service_manager_and_head_of_safeguarding(authority, child):
    from resolve.notifications.models import Kind, OutboxMessage

    challenge = raise_challenge(
        authority,
        child,
        procedure_key="informal_challenge_dispute_resolution",
        concern="No visit",
        impact_on_child="Unseen",
    )
    services.challenge_refer_to_cafcass(
        user=authority.staff["iro"], challenge_id=challenge.pk, reason="Rights at risk", checklist={}
    )
    told = OutboxMessage.objects.filter(challenge=challenge, kind=Kind.CAFCASS_REFERRED)
    assert sorted(message.recipient.username for message in told) == [
        "head_of_safeguarding",
        "iro_service_manager",
    ]
