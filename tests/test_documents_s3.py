"""Documents on S3: a real S3 API on loopback (moto's threaded server), reached by boto3 through
django-storages exactly as in production. Every object sits under its centre's prefix, is read
only through the authorised views, and nothing on another centre's host reaches it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from django.test import override_settings

from tests.api import Api, centre_api
from tests.money import xinjiang_waiting
from tests.test_documents import _issue, _policy

pytestmark = pytest.mark.django_db
BUCKET = "baohan-documents"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def s3() -> Iterator[Any]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    keys = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}
    client = boto3.client("s3", endpoint_url=endpoint, **keys)
    client.create_bucket(Bucket=BUCKET)
    storages = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": endpoint,
                "access_key": "test",
                "secret_key": "test",
                "region_name": "us-east-1",
                "default_acl": None,
                "querystring_expire": 300,
            },
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    try:
        with override_settings(STORAGES=storages):
            yield client
    finally:
        server.stop()


def test_a_policy_on_s3_sits_under_its_centre_and_is_read_only_through_its_own_host(
    s3: Any, django_capture_on_commit_callbacks: Any
) -> None:
    waiting = xinjiang_waiting()
    guarantee = _issue(waiting, django_capture_on_commit_callbacks)
    policy, plain, sealed = _policy("xinjiang", waiting.number)

    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))
    assert all(key.startswith("tenants/xinjiang/") for key in keys)  # uploads too: the licence
    assert len([k for k in keys if k.startswith("tenants/xinjiang/policies/")]) == 2  # plain and encrypted
    assert s3.get_object(Bucket=BUCKET, Key=policy.plain.name)["Body"].read() == plain
    assert s3.get_object(Bucket=BUCKET, Key=policy.sealed.name)["Body"].read() == sealed
    # Objects are private: no grant to everyone, or to every holder of some AWS account.
    for key in keys:
        grantees = [g["Grantee"].get("URI", "") for g in s3.get_object_acl(Bucket=BUCKET, Key=key)["Grants"]]
        assert not any(uri.endswith(("/AllUsers", "/AuthenticatedUsers")) for uri in grantees), grantees

    # Through the centre's own host, its bidder gets the encrypted copy (before opening).
    status, content = waiting.bidder.get(f"/api/v1/orders/{waiting.number}/documents/policy_encrypted")
    assert (status, content) == (200, sealed)
    # The same requests on another centre's host find nothing: the bidder's session and the
    # order both belong to Xinjiang, and no URL names an object key.
    benxi = Api("benxi.localhost", waiting.bidder.client.defaults.get("HTTP_AUTHORIZATION", ""))
    benxi.client.cookies = waiting.bidder.client.cookies
    status, _ = benxi.get(f"/api/v1/orders/{waiting.number}/documents/policy_encrypted")
    assert status in (401, 403, 404)
    status, _ = centre_api("benxi").get(f"/api/v1/centre/guarantees/{guarantee}/policy")
    assert status == 404
