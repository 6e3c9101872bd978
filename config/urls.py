from django.contrib import admin
from django.urls import include, path

from config import monitoring

urlpatterns = [
    path("admin/", admin.site.urls),
    # For load balancers and Prometheus (config/monitoring.py).
    path("health/", monitoring.Health.as_view(), name="health"),
    path("metrics", monitoring.metrics, name="metrics"),
    path("", include("incidents.urls")),
]

urlpatterns += [path("api/", include("incidents.api.urls"))]

# JSON under /api/, plain pages elsewhere; a database that cannot be reached answers 503.
handler400 = "incidents.views.errors.bad_request"
handler403 = "incidents.views.errors.permission_denied"
handler500 = "incidents.views.errors.server_error"
