import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "baohan.settings.base")
application = get_wsgi_application()

# Production: a demo seeder's secret left in the database stops the start (baohan/ops/dev_secrets.py).
from baohan.ops.dev_secrets import dev_rows_refuse_at_start  # noqa: E402

dev_rows_refuse_at_start()
