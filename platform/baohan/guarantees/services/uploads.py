"""Uploads, checked by content against the pack's limits for the field they are for."""

from __future__ import annotations

import functools
import hashlib
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, Min, OuterRef, ProtectedError, QuerySet, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from baohan.guarantees.errors import InvalidInput
from baohan.guarantees.models import Enterprise, Order, Upload
from baohan.ops.due import centre_due_mark
from baohan.rulepacks.fields import CANONICAL_FIELDS, FieldKind
from baohan.rulepacks.models import FileType, FormField
from tenants.selectors import pack_in_force

IMAGE_FORMATS = {"JPEG": {FileType.JPG, FileType.JPEG}, "PNG": {FileType.PNG}}
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "PDF": "application/pdf"}


def _field_for(purpose: str) -> FormField:
    pack, _ = pack_in_force()
    for form in (pack.forms.application, pack.forms.enterprise, pack.forms.voucher):
        for f in form:
            if f.name == purpose and f.upload is not None:
                return f
    raise InvalidInput("invalid", f"没有需要上传文件的字段 {purpose or '（空）'}", field="purpose", label="用途")


def content_kind(file: Any) -> str:
    """What the bytes are, whatever the name says: JPEG, PNG or PDF; ``ValueError`` (in Chinese) for
    anything else, an image claiming a size that would exhaust memory included."""
    file.seek(0)
    head = file.read(5)
    file.seek(0)
    if head == b"%PDF-":
        return "PDF"
    try:
        with Image.open(file) as image:
            kind = str(image.format)
            image.verify()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        raise ValueError("文件内容不是有效的图片或PDF") from exc
    finally:
        file.seek(0)
    return kind


def upload_store(*, enterprise: Enterprise | None, owner: User, purpose: str, file: Any) -> Upload:
    form_field = _field_for(purpose)
    assert form_field.upload is not None
    label = form_field.label
    if file is None:
        raise InvalidInput("required", f"请选择要上传的{label}", field="file", label=label)
    limit = form_field.upload.max_mb * Decimal(1024 * 1024)
    if file.size is None or Decimal(file.size) > limit:
        raise InvalidInput(
            "file_too_large", f"{label}：文件不能超过{form_field.upload.max_mb}M", field="file", label=label
        )
    allowed = set(form_field.upload.types)
    names = "/".join(t.value for t in form_field.upload.types)
    try:
        kind = content_kind(file)
    except ValueError as exc:
        raise InvalidInput("file_type", f"{label}：{exc}，只能上传{names}格式文件", field="file", label=label) from exc
    accepted = IMAGE_FORMATS.get(kind, {FileType.PDF} if kind == "PDF" else set())
    if not accepted & allowed:
        raise InvalidInput("file_type", f"{label}：只能上传{names}格式文件", field="file", label=label)
    digest = hashlib.sha256()
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)
    suffix = {"JPEG": "jpg", "PNG": "png", "PDF": "pdf"}[kind]
    upload = Upload(
        enterprise=enterprise,
        owner=owner,
        purpose=purpose,
        original_name=(file.name or "")[:200],
        content_type=CONTENT_TYPES[kind],
        size=int(file.size),
        sha256=digest.hexdigest(),
    )
    upload.file.save(f"upload.{suffix}", file, save=False)
    upload.save()
    if purpose in _application_file_purposes():  # let go by the sweep if no order names it by then
        centre_due_mark(job=SWEEP_JOB, at=upload.created_at + timedelta(hours=UNATTACHED_UPLOAD_HOURS))
    return upload


# An application's file is stored as soon as it is sent, so that a refused form need not be uploaded
# again (and an API client uploads before it applies). One no order names after this long is let go.
UNATTACHED_UPLOAD_HOURS = 24
SWEEP_BATCH = 500
SWEEP_JOB = "guarantees.uploads_unattached_sweep"


def _application_file_purposes() -> list[str]:
    pack, _ = pack_in_force()
    return [f.name for f in pack.forms.application if CANONICAL_FIELDS[f.name].kind == FieldKind.FILE]


def _unattached(purpose: str) -> QuerySet[Upload]:
    named = Order.objects.annotate(ref=KeyTextTransform(purpose, "form_data")).filter(
        ref=Cast(OuterRef("pk"), TextField())
    )
    return Upload.objects.filter(purpose=purpose).exclude(Exists(named))


def uploads_unattached_sweep(*, older_than_hours: int = UNATTACHED_UPLOAD_HOURS, now: datetime | None = None) -> int:
    """Delete the centre's application-form uploads that no order names and that are older than
    ``older_than_hours``, files included; return how many went. Uploads another record holds (a
    payment voucher, an enterprise verification) are never touched. Safe to run twice."""
    cutoff = (now or timezone.now()) - timedelta(hours=older_than_hours)
    deleted = 0
    for purpose in _application_file_purposes():
        stale = _unattached(purpose).filter(created_at__lt=cutoff).order_by("created_at")[:SWEEP_BATCH]
        for upload in stale:
            name, storage = upload.file.name, upload.file.storage
            try:
                with transaction.atomic():
                    upload.delete()
            except ProtectedError:  # held by another record after all: it stays
                continue
            if name:
                transaction.on_commit(functools.partial(storage.delete, name))
            deleted += 1
    return deleted


def uploads_next_due(*, now: datetime) -> datetime | None:
    """The sweep is next due when the oldest application file no order names comes of age
    (``baohan/ops/due.py``; a file held by another record keeps it due at the sweep's interval)."""
    oldest = [_unattached(p).aggregate(oldest=Min("created_at"))["oldest"] for p in _application_file_purposes()]
    found = [o for o in oldest if o is not None]
    return min(found) + timedelta(hours=UNATTACHED_UPLOAD_HOURS) if found else None
