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
