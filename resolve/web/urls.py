from django.urls import path

import resolve.core.converters  # noqa: F401  (registers <id:...>)
from resolve.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.SignInView.as_view(), name="sign_in"),
    path("sign-out/", views.SignOutView.as_view(), name="sign_out"),
    path("procedures/", views.procedure_list, name="procedure_list"),
    path("procedures/<slug:key>/", views.procedure_detail, name="procedure_detail"),
    path("children/", views.child_list, name="child_list"),
    path("children/<str:case_number>/", views.child_detail, name="child_detail"),
    path("allocations/", views.allocation_start, name="allocation_start"),
    path("allocations/leaver/", views.leaver_hand_over, name="leaver_hand_over"),
    path("children/<str:case_number>/allocation/", views.child_allocation, name="child_allocation"),
    path("children/<str:case_number>/raise/", views.challenge_raise_start, name="challenge_raise_start"),
    path(
        "children/<str:case_number>/raise/<slug:track>/<slug:procedure>/",
        views.challenge_raise,
        name="challenge_raise",
    ),
    path(
        "children/<str:case_number>/raise/<slug:track>/<slug:procedure>/check/",
        views.challenge_raise_check,
        name="challenge_raise_check",
    ),
    path("case-notes/<id:note_id>/correct/", views.case_note_correct, name="case_note_correct"),
    path("challenges/", views.challenge_list, name="challenge_list"),
    path("challenges/raise/", views.challenge_raise_choose, name="challenge_raise_choose"),
    path("challenges/<id:challenge_id>/", views.challenge_detail, name="challenge_detail"),
    path(
        "challenges/<id:challenge_id>/actions/<id:action_id>/",
        views.challenge_action_mark,
        name="challenge_action_mark",
    ),
    path(
        "challenges/<id:challenge_id>/actions/<id:action_id>/due-date/",
        views.challenge_action_redate,
        name="challenge_action_redate",
    ),
    path(
        "challenges/<id:challenge_id>/actions/<id:action_id>/close/",
        views.challenge_action_close,
        name="challenge_action_close",
    ),
    path(
        "challenges/<id:challenge_id>/actions/<id:action_id>/not-done/",
        views.challenge_action_not_done,
        name="challenge_action_not_done",
    ),
    path("children/<str:case_number>/concerns/new/", views.concern_new, name="concern_new"),
    path(
        "children/<str:case_number>/concerns/<id:concern_id>/close/",
        views.concern_close,
        name="concern_close",
    ),
    path("children/<str:case_number>/cafcass-referral/", views.child_cafcass, name="child_cafcass"),
    path(
        "challenges/<id:challenge_id>/<slug:action>/",
        views.challenge_transition,
        name="challenge_transition",
    ),
]
