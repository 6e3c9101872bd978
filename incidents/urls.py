from django.contrib.auth import views as auth_views
from django.urls import path

from incidents.caching import (
    control_version,
    list_version,
    pattern_version,
    public_page_cache,
    summaries_version,
)
from incidents.feeds import feed_urls
from incidents.views import (
    accounts,
    controls,
    dashboards,
    data,
    discovery,
    filing,
    legal,
    patterns,
    public,
    reporting,
    review,
    styles,
    tokens,
    traces,
)

urlpatterns = [
    path("", public.home, name="home"),
    path("incidents/", public.incident_list, name="incident_list"),
    path("incidents/<int:number>/", public.incident_redirect, name="incident_redirect"),
    path("incidents/<int:number>/<slug:slug>/", public.incident_detail, name="incident_detail"),
    path("policies/", public.policy_list, name="policy_list"),
    path("policies/<slug:slug>/", public.policy_detail, name="policy_detail"),
    path("organisations/", public.organisation_list, name="organisation_list"),
    path("organisations/<slug:slug>/", public.organisation_detail, name="organisation_detail"),
    path("legal-cases/", legal.legal_case_list, name="legal_case_list"),
    path("legal-cases/<slug:slug>/", legal.legal_case_detail, name="legal_case_detail"),
    path("tags/", public.tag_list, name="tag_list"),
    path("tags/<slug:facet>/<slug:slug>/", public.tag_detail, name="tag_detail"),
    path(
        "controls/",
        public_page_cache(controls.control_list, version=control_version),
        name="control_list",
    ),
    path(
        "controls/<slug:slug>/",
        public_page_cache(controls.control_detail, version=control_version),
        name="control_detail",
    ),
    path("data/", data.data_index, name="data"),
    path("data/coverage/", data.data_coverage, name="data_coverage"),
    path("data/blast-radius-v2.json", data.download_json, name="data_json"),
    path("data/blast-radius-v2-csv.zip", data.download_csv, name="data_csv"),
    # Mirrors and scripts fetch version 1 by name: it keeps answering, in version 1.
    path("data/blast-radius-v1.json", data.download_json, {"version": 1}, name="data_json_v1"),
    path("data/blast-radius-v1-csv.zip", data.download_csv, {"version": 1}, name="data_csv_v1"),
    # Signed-in work: filing, review and history.
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password-reset/",
        auth_views.PasswordResetView.as_view(),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        accounts.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("my/", accounts.my_postmortems, name="my_postmortems"),
    path("postmortems/new/", filing.incident_new, name="incident_new"),
    path("postmortems/preview/", filing.markdown_preview, name="markdown_preview"),
    path("postmortems/similar/", filing.duplicate_suggestions, name="duplicate_suggestions"),
    path("postmortems/<int:number>/edit/", filing.incident_edit, name="incident_edit"),
    path(
        "postmortems/control-suggestions/",
        filing.control_suggestions,
        name="control_suggestions",
    ),
    path("postmortems/<int:number>/submit/", review.incident_submit, name="incident_submit"),
    path("postmortems/<int:number>/review/", review.incident_review, name="incident_review"),
    path("postmortems/<int:number>/history/", review.incident_history, name="incident_history"),
    path("postmortems/<int:number>/diff/", review.incident_diff, name="incident_diff"),
    path(
        "postmortems/<int:number>/revisions/<int:revision>/restore/",
        review.revision_restore,
        name="revision_restore",
    ),
    path("postmortems/<int:number>/retract/", review.incident_retract, name="incident_retract"),
    path("audit/", review.audit_log, name="audit_log"),
    path(
        "postmortems/<int:number>/agent-trace/",
        traces.agent_trace_upload,
        name="agent_trace_upload",
    ),
    path(
        "postmortems/<int:number>/reporting/",
        reporting.incident_reporting,
        name="incident_reporting",
    ),
    path("reporting/", reporting.reporting_due, name="reporting_due"),
    # Dashboards and recurring patterns.
    path(
        "dashboard/",
        public_page_cache(dashboards.dashboard, version=summaries_version),
        name="dashboard",
    ),
    path("dashboard/<slug:slug>.csv", dashboards.dashboard_csv, name="dashboard_csv"),
    path(
        "dashboard/<slug:slug>.png",
        dashboards.dashboard_image,
        {"fmt": "png"},
        name="dashboard_png",
    ),
    path(
        "dashboard/<slug:slug>.svg",
        dashboards.dashboard_image,
        {"fmt": "svg"},
        name="dashboard_svg",
    ),
    path(
        "patterns/",
        public_page_cache(patterns.pattern_list, version=pattern_version),
        name="patterns",
    ),
    path("patterns/gaps/", patterns.pattern_gaps, name="pattern_gaps"),
    path(
        "patterns/<int:pk>/",
        public_page_cache(patterns.pattern_detail, version=pattern_version),
        name="pattern_detail",
    ),
    path("patterns/<int:pk>/rename/", patterns.pattern_rename, name="pattern_rename"),
    path("patterns/<int:pk>/merge/", patterns.pattern_merge, name="pattern_merge"),
    path("patterns/<int:pk>/split/", patterns.pattern_split, name="pattern_split"),
    path("my/digest/", accounts.digest_subscription, name="digest_subscription"),
    path("my/api-token/", tokens.api_token, name="api_token"),
]

# Open data: feeds, sitemap and robots.txt.
urlpatterns += [
    path(route, public_page_cache(feed, version=list_version), name=name)
    for route, feed, name in feed_urls()
]
urlpatterns += [
    path("robots.txt", discovery.robots_txt, name="robots_txt"),
    path("severities.css", styles.severity_styles, name="severity_styles"),
    path("sitemap.xml", discovery.sitemap_index, name="sitemap_index"),
    path("sitemap-<slug:section>.xml", discovery.sitemap_section, name="sitemap_section"),
]
