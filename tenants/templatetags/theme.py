from django import template

from tenants.themes import theme_static_url

register = template.Library()


@register.simple_tag
def theme_static(path: str) -> str:
    """``{% theme_static "css/theme.css" %}``: the theme's file, else base's, else ""."""
    return theme_static_url(path)
