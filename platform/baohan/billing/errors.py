"""Why a billing action was refused: a machine-readable code and a Chinese message."""

from __future__ import annotations


class BillingError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
