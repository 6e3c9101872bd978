from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("incidents.urls")),
]

urlpatterns += [path("api/", include("incidents.api.urls"))]
