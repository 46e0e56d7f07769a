import json
import pytest
from django.test import Client

@pytest.mark.django_db
def test_dump():
    r = Client(HTTP_HOST="xinjiang.localhost").get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    print(r.status_code, r["Content-Type"])
    open("/tmp/fuzzdev/schema.json", "wb").write(r.content)
