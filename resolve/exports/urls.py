from django.urls import path

import resolve.core.converters  # noqa: F401  (registers <id:...>)
from resolve.exports import views

app_name = "exports"
urlpatterns = [
    *(
        path(
            f"challenges/<id:challenge_id>/download/form.{format}",
            views.challenge_form,
            {"format": format},
            name=f"challenge_form_{format}",
        )
        for format in ("docx", "pdf")
    ),
    path(
        "challenges/<id:challenge_id>/download/form-as-sent/<id:case_note_id>.docx",
        views.sent_form,
        name="sent_form",
    ),
    *(
        path(
            f"challenges/<id:challenge_id>/download/directors-briefing.{format}",
            views.directors_briefing,
            {"format": format},
            name=f"directors_briefing_{format}",
        )
        for format in ("docx", "pdf")
    ),
    path("children/<str:case_number>/download/chronology.pdf", views.chronology, name="chronology"),
    path("challenges/<id:challenge_id>/cafcass-pack/", views.cafcass_pack, name="cafcass_pack"),
    path(
        "challenges/<id:challenge_id>/download/cafcass-referral-pack.zip",
        views.cafcass_pack_download,
        name="cafcass_pack_download",
    ),
    path(
        "children/<str:case_number>/cafcass-referrals/<id:referral_id>/pack/",
        views.referral_pack,
        name="referral_pack",
    ),
    path(
        "children/<str:case_number>/cafcass-referrals/<id:referral_id>/download/cafcass-referral-pack.zip",
        views.referral_pack_download,
        name="referral_pack_download",
    ),
]
