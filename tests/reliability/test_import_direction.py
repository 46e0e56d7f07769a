"""One direction of dependency: the order workflow (``baohan.guarantees``) imports neither payments
nor documents. Every import is read from the source (module level and inside functions alike)."""

from __future__ import annotations

import ast
from pathlib import Path

from django.conf import settings

FORBIDDEN = ("baohan.payments", "baohan.documents")


def imports_of(path: Path, base: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports, with its line: ``import a.b``, ``from a.b import c`` (as ``a.b``
    and ``a.b.c``, since ``c`` may be a module), relative imports resolved against the package."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(base).with_suffix("").parts[:-1])
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{parent}.{target}" if target else parent
            found.append((node.lineno, target))
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) in {"import_module", "__import__"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))
    return found


def forbidden_imports(base: Path) -> list[str]:
    """The forbidden imports of ``base``/baohan/guarantees (``base`` is the directory of ``baohan``)."""
    bad = []
    for path in sorted((base / "baohan" / "guarantees").rglob("*.py")):
        for line, module in imports_of(path, base):
            if any(module == f or module.startswith(f"{f}.") for f in FORBIDDEN):
                bad.append(f"{path.relative_to(base)}:{line} imports {module}")
    return bad


def test_guarantees_imports_neither_payments_nor_documents() -> None:
    base = Path(settings.PLATFORM_DIR)
    assert len(list((base / "baohan" / "guarantees").rglob("*.py"))) > 20
    assert forbidden_imports(base) == []


def test_the_check_sees_imports_inside_functions_and_relative_ones(tmp_path: Path) -> None:
    """The check can fail: a function-local, a relative and an ``import_module`` import are all caught."""
    package = tmp_path / "baohan" / "guarantees" / "services"
    package.mkdir(parents=True)
    (package / "sample.py").write_text(
        "import importlib\n\n\n"
        "def f():\n    from baohan.payments.services.settlement import receipts_settle\n\n\n"
        "def g():\n    from ...documents import tasks\n\n\n"
        "def h():\n    return importlib.import_module('baohan.documents.tasks')\n",
        encoding="utf-8",
    )
    found = forbidden_imports(tmp_path)
    assert [f.split(" imports ")[1] for f in found] == [
        "baohan.payments.services.settlement",
        "baohan.payments.services.settlement.receipts_settle",
        "baohan.documents",
        "baohan.documents.tasks",
        "baohan.documents.tasks",
    ]


def test_transition_effects_are_wired_by_the_apps_that_own_them() -> None:
    """Issuing queues the policy (documents), approving a surrender makes the payout (payments)."""
    from baohan.documents.effects import policy_queue
    from baohan.guarantees.effects import transition_effects_of
    from baohan.payments.services.payouts import payout_on_refund_approved

    assert policy_queue in transition_effects_of(transition="issue")
    assert payout_on_refund_approved in transition_effects_of(subject="refund", transition="refund_approve")
