"""The deadline surge: ``--bidders`` bidders arrive on one centre within ``--minutes`` and each signs
in, applies, submits and pays, against gunicorn with the production settings and a real Celery worker.

Xinjiang's way, as its bidders go (``regions/xinjiang.yaml``): the trading platform hands the bidder
over with a signed token (this script plays the trading platform and signs it with the centre's
hand-off key), the bidder exchanges it for an API token, looks the section up, reads the catalogue
and the quote, uploads the 开户许可证, proves the operator's phone (picture code, then the SMS code
the worker sends; the script reads both as a person would: the picture's answer from the captcha
store, the text from the outbox), applies, consents and submits, then reloads the order until the
insurer has approved it, transfers the premium from the enterprise's 基本户 with the 订单附言, and
reloads until the order is paid. 国任's staff, through the issuer API, approve what waits for
them every few seconds and import their bank statement every ``--import-every`` seconds (a CSV in
the bank's layout with the transfers made since the last one); the worker matches its lines.

A throw-away embedded PostgreSQL and Redis, an S3 stand-in on loopback (moto's server, for the
uploads), the centre onboarded from its pack, gunicorn as the web pods start it
(``baohan.ops.gunicorn_conf``, ``baohan.settings.production``, ``WEB_CONCURRENCY`` 2 ×
``GUNICORN_THREADS`` 4 unless set, ``BAOHAN_TRUSTED_PROXIES`` 1 as the chart sets it: each
bidder comes from an address of its own, as behind the ingress), and a Celery worker as the
worker pods start it (prefork, ``--worker-concurrency`` processes). Sections are pushed before the
clock starts. Arrivals are spread evenly over the window, each with short think times between steps.

Every HTTP call is timed by step; an error is any answer the flow did not expect (or no answer).
At the end the orders' states are read from the database: every order must be paid (待出函).
Everything started is stopped (process groups) and every folder removed at exit.

Usage: ``python bench/surge.py [--bidders 500] [--minutes 10] [--quick] [--json]``.
"""

from __future__ import annotations

import argparse
import atexit
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]
from baohan.ops.supervisor import group_stop, http_ready, loopback_port  # noqa: E402 - after the path

CENTRE = "xinjiang"
HOST = "surge.localhost"
PLATFORM_HOST = "localhost"
ISSUER = "guoren"
RECEIVING_ACCOUNT = "3000000000000000001"  # 国任's receiving account in the pack
BUCKET = "baohan-bench-surge"
CONSENTS = ["notice_and_clauses_read"]
DEPOSIT = "1000000.00"  # premium ¥1,000 at 国任's 0.1 %
RNG = random.Random(20)  # think times and arrivals: a run is repeatable  # noqa: S311 - not for secrets
IDLE_RECONNECT_S = 4.0  # gunicorn's keepalive is 5 s: a browser opens a new connection after that


def percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[max(0, min(len(ordered) - 1, int(len(ordered) * share + 0.999999) - 1))], 1)


def uscc_make(n: int) -> str:
    from stdnum.cn import uscc

    body = f"91650000{n:09d}"
    return body + uscc.calc_check_digit(body)


def png_bytes() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


# --- processes --------------------------------------------------------------------------------


class Processes:
    """Children each in a process group of its own; all stopped at exit (SIGTERM, then SIGKILL)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        with (self.folder / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(
                argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.children.append((name, process))
        return process

    def log_tail(self, name: str, size: int = 3000) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-size:] if path.exists() else ""

    def stop_all(self) -> None:
        for _, process in reversed(self.children):
            group_stop(process, grace=30.0, kill_wait=10.0)
        self.children.clear()


def wait_http(port: int, path: str, host: str, *, seconds: float, what: str, procs: Processes, name: str) -> None:
    if not http_ready(port, path=path, host=host, seconds=seconds, ready=lambda status: status < 500):
        raise SystemExit(f"{what} did not answer within {seconds:.0f} s:\n{procs.log_tail(name)}")


# --- measurement ------------------------------------------------------------------------------


@dataclass
class Recorder:
    lock: threading.Lock = field(default_factory=threading.Lock)
    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    waits: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))

    def record(self, step: str, ms: float) -> None:
        with self.lock:
            self.samples[step].append(ms)

    def error(self, step: str, detail: str) -> None:
        with self.lock:
            self.errors[step] += 1
            if len(self.examples) < 20:
                self.examples.append(f"{step}: {detail[:300]}")

    def wait(self, what: str, seconds: float) -> None:
        with self.lock:
            self.waits[what].append(seconds)


class FlowError(Exception):
    pass


class Client:
    """One browser's connection to the server (kept alive, reopened after the server's keepalive)."""

    def __init__(self, port: int, recorder: Recorder, *, address: str, authorization: str = "") -> None:
        self.port = port
        self.recorder = recorder
        self.address = address
        self.authorization = authorization
        self.connection: http.client.HTTPConnection | None = None
        self.last_used = 0.0

    def _connection(self) -> http.client.HTTPConnection:
        if self.connection is None or time.monotonic() - self.last_used > IDLE_RECONNECT_S:
            if self.connection is not None:
                self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        return self.connection

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def call(
        self,
        step: str,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        files: dict[str, tuple[str, bytes]] | None = None,
        fields: dict[str, str] | None = None,
        expect: tuple[int, ...] = (200,),
    ) -> tuple[int, Any]:
        headers = {
            "Host": HOST,
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": self.address,
            "User-Agent": "Mozilla/5.0 (bench surge)",
            "Accept": "application/json",
        }
        if self.authorization:
            headers["Authorization"] = self.authorization
        body: bytes | None = None
        if files is not None:
            boundary = uuid.uuid4().hex
            parts = b""
            for name, value in (fields or {}).items():
                parts += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, (filename, content) in files.items():
                parts += (
                    (
                        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                        "Content-Type: application/octet-stream\r\n\r\n"
                    ).encode()
                    + content
                    + b"\r\n"
                )
            body = parts + f"--{boundary}--\r\n".encode()
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        elif json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        connection = self._connection()
        started = time.perf_counter()
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            self.recorder.error(step, f"{method} {path}: {type(exc).__name__} {exc}")
            raise FlowError(step) from exc
        finally:
            self.last_used = time.monotonic()
        self.recorder.record(step, (time.perf_counter() - started) * 1000)
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        try:
            data: Any = (
                json.loads(raw)
                if raw and response.getheader("Content-Type", "").startswith("application/json")
                else raw
            )
        except ValueError:
            data = raw
        if response.status not in expect:
            self.recorder.error(step, f"{method} {path}: {response.status} {raw[:200]!r}")
            raise FlowError(step)
        return response.status, data


class Outbox:
    """What a person reads: the picture's answer and the text on the phone (one connection, locked)."""

    def __init__(self, url: str, schema: str) -> None:
        import psycopg

        self.connection = psycopg.connect(url, autocommit=True)
        self.schema = schema
        self.lock = threading.Lock()

    def captcha(self, key: str) -> str:
        with self.lock:
            row = self.connection.execute(
                f'SELECT response FROM "{self.schema}".captcha_captchastore WHERE hashkey = %s', [key]
            ).fetchone()
        if row is None:
            raise FlowError("captcha_read")
        return str(row[0])

    def sms_code(self, phone: str) -> str | None:
        with self.lock:
            row = self.connection.execute(
                f'SELECT params, text FROM "{self.schema}".identity_smsmessage WHERE phone = %s AND status = %s '
                "ORDER BY created_at DESC LIMIT 1",
                [phone, "sent"],
            ).fetchone()
        if row is None:
            return None
        found = (row[0] or {}).get("code") or re.search(r"\d{6}", row[1] or "")
        return str(found if isinstance(found, str) else found.group(0)) if found else None

    def states(self, numbers: list[str]) -> Counter[str]:
        with self.lock:
            rows = self.connection.execute(
                f'SELECT state, count(*) FROM "{self.schema}".guarantees_order WHERE number = ANY(%s) GROUP BY state',
                [numbers],
            ).fetchall()
        return Counter({str(state): int(count) for state, count in rows})

    def close(self) -> None:
        self.connection.close()


@dataclass
class Transfer:
    """A premium paid from the bidder's bank: a line on the issuer's next statement."""

    reference: str
    amount: Decimal
    payer_name: str
    payer_account: str
    remark_code: str


@dataclass
class Bank:
    lock: threading.Lock = field(default_factory=threading.Lock)
    pending: list[Transfer] = field(default_factory=list)

    def transfer(self, item: Transfer) -> None:
        with self.lock:
            self.pending.append(item)

    def take(self) -> list[Transfer]:
        with self.lock:
            taken, self.pending = self.pending, []
        return taken

    def put_back(self, items: list[Transfer]) -> None:
        with self.lock:
            self.pending[:0] = items

    def empty(self) -> bool:
        with self.lock:
            return not self.pending


# --- the people ------------------------------------------------------------------------------


@dataclass
class Surge:
    port: int
    recorder: Recorder
    outbox: Outbox
    bank: Bank
    handoff: dict[str, str]
    sections: list[str]
    think: float
    stop: threading.Event
    orders: dict[int, str] = field(default_factory=dict)  # bidder → order number
    paid: dict[int, float] = field(default_factory=dict)  # bidder → seconds from arrival to paid
    failed: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def pause(self, scale: float = 1.0) -> None:
        self.stop.wait(RNG.uniform(0.5, 1.5) * self.think * scale)

    def bidder(self, n: int) -> None:
        import jwt

        arrived = time.monotonic()
        address = f"10.{20 + n // 65025}.{n // 255 % 255}.{n % 255 + 1}"
        client = Client(self.port, self.recorder, address=address)
        phone = f"139{n:08d}"
        name = f"新疆测试建设有限公司{n}"
        account = f"62170000{n:08d}"
        section = self.sections[n % len(self.sections)]
        step = "start"
        try:
            # The trading platform's 【电子保函登录】 hands the bidder over.
            now = int(time.time())
            claims = {
                "iss": self.handoff["issuer"],
                "aud": self.handoff["audience"],
                "iat": now,
                "exp": now + 300,
                "jti": secrets.token_urlsafe(16),
                "uscc": uscc_make(n),
                "name": name,
                "operator": {"name": f"经办人{n}", "phone": phone},
            }
            token = jwt.encode(claims, self.handoff["secret"], algorithm="HS256", headers={"kid": self.handoff["kid"]})
            step = "login"
            _, answer = client.call(step, "POST", "/api/v1/auth/token", json_body={"handoff_token": token})
            client.authorization = f"Token {answer['token']}"
            self.pause()
            step = "sections"
            client.call(step, "GET", f"/api/v1/sections/?q={section}")
            step = "section"
            client.call(step, "GET", f"/api/v1/sections/{section}")
            step = "catalogue"
            client.call(step, "GET", "/api/v1/catalogue")
            step = "quote"
            client.call(
                step,
                "POST",
                "/api/v1/quote",
                json_body={"section": section, "deposit_kind": "bid", "issuer_kind": "insurer"},
            )
            self.pause()
            step = "upload"
            _, upload = client.call(
                step,
                "POST",
                "/api/v1/uploads",
                files={"file": ("permit.png", PERMIT)},
                fields={"purpose": "account_permit"},
                expect=(201,),
            )
            self.pause()
            step = "captcha"
            _, captcha = client.call(step, "POST", "/api/v1/captcha", expect=(201,))
            step = "captcha_image"
            client.call(step, "GET", urlsplit(captcha["image_url"]).path)
            picture = self.outbox.captcha(captcha["key"])
            self.pause(0.5)
            step = "sms_code"
            client.call(
                step,
                "POST",
                "/api/v1/sms-codes",
                json_body={"purpose": "application", "captcha_key": captcha["key"], "captcha": picture},
                expect=(201,),
            )
            step = "sms_delivery"
            asked = time.monotonic()
            code = None
            while code is None and time.monotonic() - asked < 60 and not self.stop.is_set():
                self.stop.wait(0.3)
                code = self.outbox.sms_code(phone)
            if code is None:
                self.recorder.error(step, f"no SMS code for {phone} within 60 s")
                raise FlowError(step)
            self.recorder.wait("sms_delivery_s", time.monotonic() - asked)
            self.pause()
            step = "apply"
            form = {
                "project_type": "construction",
                "bid_validity_days": 90,
                "account_name": name,
                "bank_name": "中国建设银行乌鲁木齐分行",
                "account_number": account,
                "account_permit": upload["id"],
                "operator_name": f"经办人{n}",
                "operator_phone": phone,
                "captcha": picture,
                "sms_code": code,
            }
            _, order = client.call(
                step,
                "POST",
                "/api/v1/orders/",
                json_body={
                    "section": section,
                    "deposit_kind": "bid",
                    "issuer_kind": "insurer",
                    "issuer_codes": [ISSUER],
                    "form": form,
                },
                expect=(201,),
            )
            number = order["number"]
            with self.lock:
                self.orders[n] = number
            self.pause()
            step = "submit"
            client.call(step, "POST", f"/api/v1/orders/{number}/submit", json_body={"consents": CONSENTS})
            # 待审核: the bidder reloads the order until the insurer has decided.
            step = "order_until_approved"
            submitted = time.monotonic()
            order = self.reload_until(client, step, number, {"awaiting_payment"}, every=5.0, limit=180.0)
            self.recorder.wait("approval_s", time.monotonic() - submitted)
            payment = order["payment"]
            self.pause(2.0)  # to the bank's site and back
            self.bank.transfer(
                Transfer(
                    reference=f"SN{n:08d}{secrets.token_hex(3)}",
                    amount=Decimal(str(payment["payable_amount"])),
                    payer_name=name,
                    payer_account=account,
                    remark_code=str(payment["remark_code"]),
                )
            )
            transferred = time.monotonic()
            step = "order_until_paid"
            self.reload_until(client, step, number, {"awaiting_issue", "issued"}, every=10.0, limit=300.0)
            self.recorder.wait("paid_after_transfer_s", time.monotonic() - transferred)
            with self.lock:
                self.paid[n] = time.monotonic() - arrived
        except FlowError:
            with self.lock:
                self.failed[step] += 1
        except Exception as exc:  # noqa: BLE001 - a bug of this script or an answer of an unexpected shape
            self.recorder.error(step, f"{type(exc).__name__}: {exc}")
            with self.lock:
                self.failed[step] += 1
        finally:
            client.close()

    def reload_until(
        self, client: Client, step: str, number: str, states: set[str], *, every: float, limit: float
    ) -> Any:
        began = time.monotonic()
        while not self.stop.is_set():
            _, order = client.call(step, "GET", f"/api/v1/orders/{number}")
            if order["state"] in states:
                return order
            if order["state"] in {"rejected", "cancelled", "payment_failed", "abandoned"}:
                self.recorder.error(step, f"order {number} is {order['state']}")
                raise FlowError(step)
            if time.monotonic() - began > limit:
                self.recorder.error(step, f"order {number} still {order['state']} after {limit:.0f} s")
                raise FlowError(step)
            self.stop.wait(every * RNG.uniform(0.8, 1.2))
        raise FlowError(step)

    def underwriter(self, authorization: str, every: float) -> None:
        """国任's reviewer: the pending list, each application approved."""
        client = Client(self.port, self.recorder, address="10.250.0.1", authorization=authorization)
        while not self.stop.is_set():
            try:
                _, page = client.call("issuer_pending", "GET", "/api/v1/issuer/orders/?pending=1")
                for item in page["results"]:
                    if self.stop.is_set():
                        break
                    client.call(
                        "issuer_approve",
                        "POST",
                        f"/api/v1/issuer/orders/{item['number']}/decision",
                        json_body={"approve": True},
                    )
                if page.get("next"):
                    continue
            except FlowError:
                pass
            except Exception as exc:  # noqa: BLE001
                self.recorder.error("issuer_pending", f"{type(exc).__name__}: {exc}")
            self.stop.wait(every)
        client.close()

    def statements(self, authorization: str, every: float) -> None:
        """国任's cashier: the bank's statement since the last one, imported; the worker matches it."""
        from django.utils import timezone

        from baohan.payments.statements import StatementLine, statement_render
        from baohan.rulepacks.statement_presets import PRESETS

        client = Client(self.port, self.recorder, address="10.250.0.2", authorization=authorization)
        imports = 0
        while True:
            self.stop.wait(every)
            transfers = self.bank.take()
            if transfers:
                booked = (timezone.now() - timedelta(seconds=30)).replace(microsecond=0)
                lines = [
                    StatementLine(
                        row=i + 1,
                        reference=t.reference,
                        booked_at=booked,
                        amount=t.amount,
                        payer_name=t.payer_name,
                        payer_account=t.payer_account,
                        payer_bank="中国建设银行乌鲁木齐分行",
                        remark=f"保费 {t.remark_code}",
                        raw={},
                    )
                    for i, t in enumerate(transfers)
                ]
                content = statement_render(
                    layout=PRESETS["bank_csv"], lines=lines, account_number=RECEIVING_ACCOUNT, account_name="国任"
                )
                imports += 1
                try:
                    client.call(
                        "issuer_statement_import",
                        "POST",
                        "/api/v1/issuer/statements",
                        files={"file": (f"statement-{imports}.csv", content)},
                        expect=(201,),
                    )
                    self.recorder.wait("lines_per_import", float(len(lines)))
                except FlowError:
                    if not self.stop.is_set():
                        self.bank.put_back(transfers)  # the cashier tries the same lines again
            if self.stop.is_set() and self.bank.empty():
                break
        client.close()


PERMIT = b""


# --- main ------------------------------------------------------------------------------------


def main() -> None:
    global PERMIT
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bidders", type=int, default=500)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true", help="50 bidders in 1 minute")
    parser.add_argument("--sections", type=int, default=20, help="sections whose deadline it is")
    parser.add_argument("--think", type=float, default=2.0, help="mean seconds a person pauses between steps")
    parser.add_argument("--import-every", type=float, default=30.0, help="seconds between statement imports")
    parser.add_argument("--review-every", type=float, default=3.0, help="seconds between the reviewer's looks")
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--grace", type=float, default=240.0, help="seconds after the window for the last to pay")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--logs", type=Path, help="copy the servers' logs into this folder at the end")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.bidders, args.minutes, args.import_every = 50, 1.0, 10.0
    RNG.seed(args.seed)
    PERMIT = png_bytes()

    folder = Path(tempfile.mkdtemp(prefix="baohan-bench-surge-"))
    atexit.register(shutil.rmtree, folder, True)  # registered first: runs after everything stopped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not os.environ.get("DATABASE_URL"):
        os.environ["BAOHAN_DATA_DIR"] = str(folder)
    os.environ["DJANGO_SETTINGS_MODULE"] = "baohan.settings.base"
    # The keys the servers run with, here too: the hand-off key written below is stored encrypted.
    from cryptography.fernet import Fernet

    os.environ["BAOHAN_FIELD_KEYS"] = Fernet.generate_key().decode()
    os.environ["BAOHAN_INDEX_KEY"] = secrets.token_urlsafe(32)
    from baohan.embedded import EmbeddedRedis, database_url_ensure

    database = database_url_ensure(database="baohan_bench_surge")
    redis = EmbeddedRedis(folder / "redis")
    atexit.register(redis.stop)
    procs = Processes(folder)
    if args.logs:
        atexit.register(lambda: [shutil.copy(log, args.logs) for log in folder.glob("*.log")])
        args.logs.mkdir(parents=True, exist_ok=True)
    atexit.register(procs.stop_all)

    import django

    django.setup()
    import boto3  # type: ignore[import-untyped]
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from baohan.guarantees.api.auth import credential_create
    from baohan.identity.services.logins import handoff_key_set
    from tenants.models import Tenant
    from tenants.services import tenant_onboard_file

    began_setup = time.monotonic()
    call_command("migrate", interactive=False, verbosity=0)
    if Tenant.objects.filter(code=CENTRE).exists():
        raise SystemExit(f"centre {CENTRE} exists in this database already")
    tenant_onboard_file(path=ROOT / "regions" / f"{CENTRE}.yaml", domains=[HOST])
    tenant = Tenant.objects.get(code=CENTRE)
    handoff = {"kid": "surge", "secret": secrets.token_urlsafe(48), "audience": f"baohan:{tenant.schema_name}"}
    with tenant_context(tenant):
        handoff_key_set(key_id=handoff["kid"], secret=handoff["secret"])
        _, centre_token = credential_create(kind="centre", label="bench centre")
        _, issuer_token = credential_create(kind="issuer", issuer_code=ISSUER, label="bench 国任")
    from tenants.selectors import pack_in_force

    with tenant_context(tenant):
        pack, _ = pack_in_force()
        assert pack.login.handoff is not None
        handoff["issuer"] = pack.login.handoff.issuer
    connection.close()

    s3_port = loopback_port()
    s3_env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs.start(
        "s3", [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(s3_port)], s3_env
    )
    wait_http(s3_port, "/", "127.0.0.1", seconds=30, what="the S3 stand-in", procs=procs, name="s3")
    s3_keys = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench-secret", "region_name": "us-east-1"}
    boto3.client("s3", endpoint_url=f"http://127.0.0.1:{s3_port}", **s3_keys).create_bucket(Bucket=BUCKET)

    port = loopback_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "GUNICORN_", "WEB_", "CELERY_"))},
        "DJANGO_SETTINGS_MODULE": "baohan.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": HOST,
        "PLATFORM_HOSTS": PLATFORM_HOST,
        "DATABASE_URL": database,
        "REDIS_URL": redis.url.replace("redis+socket://", "unix://", 1),  # redis-py's spelling of a socket
        "CELERY_BROKER_URL": redis.url,  # kombu's
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}",
        "AWS_S3_REGION_NAME": s3_keys["region_name"],
        "AWS_ACCESS_KEY_ID": s3_keys["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": s3_keys["aws_secret_access_key"],
        "BAOHAN_TRUSTED_PROXIES": "1",
        "LOG_LEVEL": "warning",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT)]),
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    env.pop("BAOHAN_METRICS_PORT", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    procs.start(
        "worker",
        [
            sys.executable,
            "-m",
            "celery",
            "--app=baohan",
            "worker",
            "--loglevel=WARNING",
            f"--concurrency={args.worker_concurrency}",
            "--max-tasks-per-child=500",
            "--without-gossip",
            "--without-mingle",
        ],
        {**env, "DATABASE_POOL_MAX_SIZE": "2"},
    )
    procs.start(
        "gunicorn",
        [sys.executable, "-m", "gunicorn", "-c", "python:baohan.ops.gunicorn_conf", "baohan.wsgi"],
        {**env, "PORT": str(port)},
    )
    wait_http(port, "/readyz", PLATFORM_HOST, seconds=90, what="gunicorn", procs=procs, name="gunicorn")

    # The centre pushes the sections whose deposit deadline this is, before the clock starts.
    centre = Client(port, Recorder(), address="10.251.0.1", authorization=f"Bearer {centre_token}")
    deadline = timezone.now().replace(microsecond=0) + timedelta(days=3)
    sections = [f"XJ-SURGE-{i:03d}" for i in range(args.sections)]
    for i, code in enumerate(sections):
        centre.call(
            "centre_section",
            "PUT",
            f"/api/v1/centre/sections/{code}",
            json_body={
                "name": f"截止日标段{i + 1}",
                "project_code": f"P-SURGE-{i // 4:03d}",
                "project_name": f"截止日工程{i // 4 + 1}",
                "project_type": "construction",
                "location": "",
                "deposit_amount": DEPOSIT,
                "deposit_deadline": deadline.isoformat(),
                "opening_time": (deadline + timedelta(days=1)).isoformat(),
                "bid_validity_days": 90,
            },
            expect=(200, 201),
        )
    centre.close()
    with tenant_context(tenant):
        schema = tenant.schema_name
    connection.close()
    outbox = Outbox(database, schema)
    atexit.register(outbox.close)
    setup_s = time.monotonic() - began_setup

    recorder = Recorder()
    stop = threading.Event()
    surge = Surge(
        port=port,
        recorder=recorder,
        outbox=outbox,
        bank=Bank(),
        handoff=handoff,
        sections=sections,
        think=args.think,
        stop=stop,
    )
    staff = [
        threading.Thread(target=surge.underwriter, args=(f"Bearer {issuer_token}", args.review_every), daemon=True),
        threading.Thread(target=surge.statements, args=(f"Bearer {issuer_token}", args.import_every), daemon=True),
    ]
    for thread in staff:
        thread.start()
    window = args.minutes * 60
    arrivals = sorted(RNG.uniform(0, window) for _ in range(args.bidders))
    load_samples: list[tuple[float, float]] = []
    clock = time.monotonic()
    bidders: list[threading.Thread] = []
    for n, at in enumerate(arrivals, start=1):
        delay = clock + at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        thread = threading.Thread(target=surge.bidder, args=(n,), daemon=True)
        thread.start()
        bidders.append(thread)
        if n % 25 == 0:
            load_samples.append((time.monotonic() - clock, os.getloadavg()[0]))
    bound = clock + window + args.grace
    for thread in bidders:
        thread.join(max(0.0, bound - time.monotonic()))
    stragglers = sum(1 for thread in bidders if thread.is_alive())
    stop.set()
    for thread in bidders:
        thread.join(10)
    for thread in staff:
        thread.join(60)
    took = time.monotonic() - clock
    load = os.getloadavg()

    numbers = list(surge.orders.values())
    states = outbox.states(numbers) if numbers else Counter()
    paid = states.get("awaiting_issue", 0) + states.get("issued", 0)
    every = [t for values in recorder.samples.values() for t in values]
    bidder_steps = [s for s in recorder.samples if not s.startswith(("issuer_", "centre_"))]
    bidder_times = [t for s in bidder_steps for t in recorder.samples[s]]
    steps = {
        step: {
            "n": len(values),
            "p50_ms": percentile(values, 0.50),
            "p95_ms": percentile(values, 0.95),
            "p99_ms": percentile(values, 0.99),
            "max_ms": round(max(values), 1),
            "errors": recorder.errors.get(step, 0),
        }
        for step, values in sorted(recorder.samples.items())
    }
    waits = {
        what: {
            "p50": round(statistics.median(values), 2),
            "p95": percentile(values, 0.95),
            "max": round(max(values), 2),
        }
        for what, values in sorted(recorder.waits.items())
        if values
    }
    result: dict[str, Any] = {
        "bidders": args.bidders,
        "minutes": args.minutes,
        "centre": CENTRE,
        "requests": len(every),
        "rps": round(len(every) / max(took, 0.1), 1),
        "p50_ms": percentile(every, 0.50),
        "p95_ms": percentile(every, 0.95),
        "p99_ms": percentile(every, 0.99),
        "max_ms": round(max(every), 1) if every else 0.0,
        "bidder_p99_ms": percentile(bidder_times, 0.99),
        "errors": sum(recorder.errors.values()),
        "errors_by_step": dict(recorder.errors),
        "error_examples": recorder.examples,
        "orders": len(numbers),
        "paid": paid,
        "states": dict(states),
        "all_paid": paid == args.bidders,
        "unfinished_bidders": stragglers,
        "failed_at": dict(surge.failed),
        "arrival_to_paid_p50_s": round(statistics.median(surge.paid.values()), 1) if surge.paid else None,
        "arrival_to_paid_max_s": round(max(surge.paid.values()), 1) if surge.paid else None,
        "steps": steps,
        "waits": waits,
        "seconds": round(took, 1),
        "setup_seconds": round(setup_s, 1),
        "load": [round(v, 2) for v in load],
        "load_1min_peak": round(max((v for _, v in load_samples), default=load[0]), 2),
        "web": f"{env.get('WEB_CONCURRENCY', '2')}x{env.get('GUNICORN_THREADS', '4')}",
        "worker_concurrency": args.worker_concurrency,
    }
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return
    print(
        f"{args.bidders} bidders on {CENTRE} in {args.minutes:g} min (gunicorn {result['web']}, "
        f"worker ×{args.worker_concurrency}; setup {result['setup_seconds']} s, run {result['seconds']} s)"
    )
    print(
        f"  {result['requests']} requests ({result['rps']}/s): p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, "
        f"p99 {result['p99_ms']} ms (goal ≤ 300), max {result['max_ms']} ms; bidders' own p99 "
        f"{result['bidder_p99_ms']} ms; errors {result['errors']} (goal 0)"
    )
    print(f"  orders {result['orders']}, paid {paid} of {args.bidders}; states {dict(states)}")
    if surge.failed:
        print(f"  bidders stopped at: {dict(surge.failed)}")
    print(f"  {'step':<26}{'n':>6}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}  errors")
    for step, row in steps.items():
        print(
            f"  {step:<26}{row['n']:>6}{row['p50_ms']:>9}{row['p95_ms']:>9}{row['p99_ms']:>9}{row['max_ms']:>9}"
            f"  {row['errors']}"
        )
    for what, row in waits.items():
        print(f"  {what:<26} p50 {row['p50']}  p95 {row['p95']}  max {row['max']}")
    for example in recorder.examples[:10]:
        print(f"  error: {example}")
    average = "/".join(str(v) for v in result["load"])
    print(f"  load average {average} (1-min peak during arrivals {result['load_1min_peak']})")


if __name__ == "__main__":
    main()
