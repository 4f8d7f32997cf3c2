from django.urls import path

from resolve.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.SignInView.as_view(), name="sign_in"),
    path("sign-out/", views.SignOutView.as_view(), name="sign_out"),
    path("procedures/", views.procedure_list, name="procedure_list"),
    path("procedures/<slug:key>/", views.procedure_detail, name="procedure_detail"),
]
