"""Per-tenant themes: ``themes/<theme>/templates`` is searched before ``themes/base``.

The theme comes from the tenant record (set from its rule pack), so centres may share a
theme and a theme folder is optional: a centre without one is served by base alone.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import HttpRequest
from django.template.loaders.cached import Loader as DjangoCachedLoader
from django.template.loaders.filesystem import Loader as FilesystemLoader

from tenants.selectors import current_rule_pack, current_tenant

BASE_THEME = "base"


def current_theme() -> str:
    tenant = current_tenant()
    return tenant.theme if tenant is not None and tenant.theme else BASE_THEME


class ThemeLoader(FilesystemLoader):
    """Looks in the current tenant's theme folder only; base is the regular DIRS entry."""

    def get_dirs(self) -> list[Any]:
        theme = current_theme()
        if theme == BASE_THEME:
            return []
        return [settings.THEMES_DIR / theme / "templates"]


class CachedLoader(DjangoCachedLoader):
    """Django's cached loader with the theme in the cache key, so themes never share entries."""

    def cache_key(self, template_name: str, skip: Any = None) -> str:
        return f"{current_theme()}:{super().cache_key(template_name, skip)}"


@lru_cache(maxsize=4096)
def _theme_has_static(theme: str, path: str) -> bool:
    return (settings.THEMES_DIR / theme / "static" / path).is_file()


def _theme_with_static(path: str, theme: str | None) -> str | None:
    """The theme whose static folder holds ``path``: the given (or current) theme, else base; None if neither."""
    for candidate in (theme or current_theme(), BASE_THEME):
        if _theme_has_static(candidate, path):
            return candidate
    return None


def theme_static_url(path: str, theme: str | None = None) -> str:
    """URL of ``path`` in the theme's static folder, else in base's; "" when neither has it.
    A logo uploaded in the console (``branding/<centre>/...``) is served by the site itself."""
    if path.startswith("branding/"):
        return f"/{path}"
    found = _theme_with_static(path, theme)
    return staticfiles_storage.url(f"themes/{found}/{path}") if found else ""


def theme_static_file(path: str, theme: str | None = None) -> Path | None:
    """The file of ``path`` in the theme's static folder, else in base's; None when neither has it."""
    found = _theme_with_static(path, theme)
    return settings.THEMES_DIR / found / "static" / path if found else None


FAVICON = "brand/favicon.svg"


def theme_favicon(theme: str | None = None) -> Path | None:
    """The theme's icon (``themes/<theme>/static/brand/favicon.svg``), else base's: served at /favicon.ico and
    written into each page."""
    return theme_static_file(FAVICON, theme)


@lru_cache(maxsize=32)
def _favicon_data_uri(path: Path) -> str:
    return "data:image/svg+xml," + quote(" ".join(path.read_text(encoding="utf-8").split()), safe=" =:/'\"")


def theme_favicon_data_uri(theme: str | None = None) -> str:
    """The theme's icon as a ``data:`` URI for the page's own ``<link rel="icon">``; "" when there is none."""
    path = theme_favicon(theme)
    return _favicon_data_uri(path) if path else ""


def theme_context(request: HttpRequest) -> dict[str, Any]:
    return {"theme": current_theme(), "pack": current_rule_pack(), "tenant": current_tenant()}
