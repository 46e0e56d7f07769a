"""/favicon.ico: the centre's theme icon, else base's (looked up by ``tenants.themes.theme_favicon``)."""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from tenants.themes import theme_favicon


@require_GET
@cache_control(public=True, max_age=86400)
def favicon(request: HttpRequest) -> FileResponse:
    path = theme_favicon()
    if path is None:
        raise Http404("no icon")
    return FileResponse(path.open("rb"), content_type="image/svg+xml")
