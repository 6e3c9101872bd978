from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from . import views
from .errors import not_found

router = SimpleRouter()
router.register("incidents", views.IncidentViewSet, basename="incident")
router.register("policy-changes", views.PolicyChangeViewSet, basename="policy-change")
router.register("organisations", views.OrganisationViewSet, basename="organisation")
router.register("tags", views.TagViewSet, basename="tag")
router.register("postmortems", views.PostmortemViewSet, basename="postmortem")

app_name = "api"
urlpatterns = [
    path("v1/", include(router.urls)),
    path("v1/schema/", SpectacularAPIView.as_view(api_version="1.0.0"), name="schema"),
    path("v1/docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("v1/redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
    re_path(r"^[\s\S]*$", not_found),  # any path, a newline in it too
]
