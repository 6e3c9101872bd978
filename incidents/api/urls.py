from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import include, path, re_path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework.routers import SimpleRouter

from . import views
from .errors import not_found

# The reference pages' bundles need a little more than the site's policy allows, on these
# pages only: Swagger UI draws its icons from data: images; Redoc writes its styles into <style>
# elements at run time and searches in a worker started from a blob: URL. The split view serves
# Swagger UI's start-up script from a URL, not inline.
swagger_ui = csp_update({"img-src": ["data:"]})(
    SpectacularSwaggerSplitView.as_view(url_name="api:schema")
)
redoc = csp_update({"style-src": [UNSAFE_INLINE], "worker-src": ["blob:"], "img-src": ["data:"]})(
    SpectacularRedocView.as_view(url_name="api:schema")
)

router = SimpleRouter()
router.register("incidents", views.IncidentViewSet, basename="incident")
router.register("policy-changes", views.PolicyChangeViewSet, basename="policy-change")
router.register("legal-cases", views.LegalCaseViewSet, basename="legal-case")
router.register("organisations", views.OrganisationViewSet, basename="organisation")
router.register("tags", views.TagViewSet, basename="tag")
router.register("postmortems", views.PostmortemViewSet, basename="postmortem")

app_name = "api"
urlpatterns = [
    path("v1/", include(router.urls)),
    path("v1/schema/", SpectacularAPIView.as_view(api_version="1.0.0"), name="schema"),
    path("v1/docs/", swagger_ui, name="docs"),
    path("v1/redoc/", redoc, name="redoc"),
    re_path(r"^[\s\S]*$", not_found),  # any path, a newline in it too
]
