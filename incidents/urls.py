from django.contrib.auth import views as auth_views
from django.urls import path

from incidents.views import data, public

urlpatterns = [
    path("", public.home, name="home"),
    path("incidents/", public.incident_list, name="incident_list"),
    path("incidents/<int:number>/", public.incident_redirect, name="incident_redirect"),
    path("incidents/<int:number>/<slug:slug>/", public.incident_detail, name="incident_detail"),
    path("policies/", public.policy_list, name="policy_list"),
    path("policies/<slug:slug>/", public.policy_detail, name="policy_detail"),
    path("organisations/", public.organisation_list, name="organisation_list"),
    path("organisations/<slug:slug>/", public.organisation_detail, name="organisation_detail"),
    path("tags/", public.tag_list, name="tag_list"),
    path("tags/<slug:facet>/<slug:slug>/", public.tag_detail, name="tag_detail"),
    path("data/", data.data_index, name="data"),
    path("data/blast-radius-v1.json", data.download_json, name="data_json"),
    path("data/blast-radius-v1-csv.zip", data.download_csv, name="data_csv"),
]
