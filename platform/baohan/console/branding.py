"""A centre's branding (name, colours, hotlines, footer, logo) is part of its rule pack: changing
it is a pack change like any other (a new version, previewed, published, rolled back).

The edit keeps the pack's own text: comments and layout survive (ruamel round-trip); only the
``centre`` keys changed and ``version`` are rewritten. Logos are stored content-addressed
(``branding/<centre>/<sha256>.<ext>``), so an older version's logo never changes under it.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from baohan.guarantees.errors import InvalidInput
from baohan.guarantees.services.uploads import content_kind

LOGO_MAX_BYTES = 1024 * 1024
LOGO_FORMATS = {"PNG": "png", "JPEG": "jpg"}
BRANDING_PREFIX = "branding/"
TEXT_KEYS = ("name", "site_title", "footer_text")
COLOUR_KEYS = ("primary_colour", "accent_colour")


def branding_logo_store(*, code: str, file: Any) -> str:
    """Check the upload is a PNG or JPEG image (by its bytes) of at most 1 MB; store it; return its path."""
    if file is None:
        raise InvalidInput("required", "请选择标志图片", field="logo", label="标志")
    if file.size is None or file.size > LOGO_MAX_BYTES:
        raise InvalidInput("file_too_large", "标志图片不能超过1M", field="logo", label="标志")
    try:
        kind = content_kind(file)
    except ValueError:
        kind = ""
    if kind not in LOGO_FORMATS:
        raise InvalidInput("invalid_file", "标志应为 PNG 或 JPEG 图片", field="logo", label="标志")
    content = file.read()
    path = f"{BRANDING_PREFIX}{code}/{hashlib.sha256(content).hexdigest()[:24]}.{LOGO_FORMATS[kind]}"
    if not default_storage.exists(path):
        default_storage.save(path, ContentFile(content))
    return path


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def branding_source_edit(*, source_text: str, values: Mapping[str, Any], version: str) -> str:
    """The pack's text with the ``centre`` branding keys set to ``values`` and ``version`` replaced.

    ``values`` keys: name, site_title, footer_text, primary_colour, accent_colour, hotlines (a
    list), logo (a stored path, or absent to keep the current one). Blank footer_text removes it.
    Validation is the pack loader's, on the result."""
    yaml = _yaml()
    data = yaml.load(source_text)
    if not isinstance(data, CommentedMap) or not isinstance(data.get("centre"), CommentedMap):
        raise InvalidInput("invalid", "规则包缺少 centre 部分", field="source")
    centre: CommentedMap = data["centre"]
    for key in (*TEXT_KEYS, *COLOUR_KEYS):
        if key not in values:
            continue
        value = str(values[key]).strip()
        if value:
            centre[key] = value
        elif key in centre and key == "footer_text":
            del centre[key]
    if "hotlines" in values:
        wanted = [str(h).strip() for h in values["hotlines"] if str(h).strip()]
        if wanted != [str(h) for h in centre.get("hotlines") or []]:  # unchanged: keep the list and its comments
            hotlines = CommentedSeq(wanted)
            hotlines.fa.set_block_style()
            centre["hotlines"] = hotlines
    if values.get("logo"):
        centre["logo"] = str(values["logo"])
    data["version"] = version
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()
