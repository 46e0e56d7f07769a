"""The README's curl walk, pasted as it stands, against the live site with development settings.

The walk's host and port are the README's (``127.0.0.1:8000``), pointed at this run's server; everything else is
run exactly as written, by ``bash`` with ``set -euo pipefail``: a failed call or an empty answer stops it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from django.conf import settings
from django_tenants.utils import tenant_context

from baohan.guarantees.services.demo import demo_accounts_seed
from baohan.identity.services.demo import demo_identity_seed
from tenants.models import Tenant
from tenants.selectors import tenant_rule_pack
from tests.browser.conftest import LiveSite

README = Path(settings.ROOT_DIR) / "README.md"
BASH = shutil.which("bash") or "/bin/bash"
HEADING = "### Walking the flow on `make run`"


def walk_script() -> str:
    """The first ``sh`` block after the walk's heading."""
    text = README.read_text(encoding="utf-8")
    assert HEADING in text, "the README lost its walk"
    after = text.split(HEADING, 1)[1]
    match = re.search(r"```sh\n(.*?)```", after, re.S)
    assert match is not None
    return match.group(1)


def test_the_readme_walk_runs_as_pasted(live_site: LiveSite, settings: Any) -> None:
    settings.DEBUG = True  # what make run uses: the demo secrets and the /dev/ answers work only then
    tenant = Tenant.objects.get(code="xinjiang")
    with tenant_context(tenant):
        pack = tenant_rule_pack(tenant=tenant)
        demo_accounts_seed(pack=pack, centre=tenant.code)
        demo_identity_seed(pack=pack)
    script = walk_script().replace("127.0.0.1:8000", f"127.0.0.1:{live_site.port}")
    result = subprocess.run(
        [BASH, "-euo", "pipefail", "-c", script],
        cwd=settings.ROOT_DIR,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    live_site.wait_idle()
    assert result.returncode == 0, f"the walk stopped:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    # The walk ends by reading the order: issued, and its refund for the failed tender waiting for the account.
    order = json.loads(result.stdout.strip().splitlines()[-1])
    refund = json.loads(result.stdout.strip().splitlines()[-2])
    assert (order["state"], order["section"]["status"]) == ("issued", "failed_tender")
    assert (refund["order_number"], refund["state"], refund["rule_code"]) == (
        order["number"],
        "pending_account",
        "after_opening_failed",
    )
