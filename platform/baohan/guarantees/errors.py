"""Domain errors. Each carries a machine-readable code, a Chinese message and, when it is
about one input, the field's canonical name and its label in the region's words."""

from __future__ import annotations


class DomainError(Exception):
    status = 400

    def __init__(self, code: str, message: str, *, field: str | None = None, label: str | None = None) -> None:
        self.code = code
        self.message = message
        self.field = field
        self.label = label
        super().__init__(f"{code}: {message}")


class InvalidInput(DomainError):
    status = 400


class NotAllowed(DomainError):
    """The caller may not do this (a rule of the pack or a permission)."""

    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    """The order is not in a state where this can happen, or someone else got there first."""

    status = 409


class TooMany(DomainError):
    """Too many attempts or sends: wait and try again."""

    status = 429


# The insurer asked alongside others (multi-select) that did not accept first: its request was released.
TAKEN_BY_OTHER = ("taken_by_other_issuer", "该订单已由其他出函机构先行承保，本机构的审核请求已释放，无需再处理")
