"""/favicon.ico: the centre's theme icon (``themes/<theme>/static/brand/favicon.svg``), else base's."""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from tenants.themes import BASE_THEME, current_theme

FAVICON = "brand/favicon.svg"


@require_GET
@cache_control(public=True, max_age=86400)
def favicon(request: HttpRequest) -> FileResponse:
    for theme in (current_theme(), BASE_THEME):
        path = settings.THEMES_DIR / theme / "static" / FAVICON
        if path.is_file():
            return FileResponse(path.open("rb"), content_type="image/svg+xml")
    raise Http404("no icon")
