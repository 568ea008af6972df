# syntax=docker/dockerfile:1
# Two stages. The builder turns uv.lock into wheels, every file checked against the hashes the
# lock records. The runtime stage installs only those wheels (no index, no compiler, no uv),
# adds the application code without tests, docs or benchmarks (.dockerignore), collects the
# static files and runs as an unprivileged user.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 UV_PYTHON_DOWNLOADS=never
WORKDIR /build
COPY pyproject.toml uv.lock ./
COPY scripts/bootstrap_uv.py scripts/
RUN python scripts/bootstrap_uv.py \
    && uv export --quiet --frozen --no-emit-project --format requirements-txt --output-file requirements.txt \
    && pip wheel --require-hashes --no-deps --wheel-dir /wheels --requirement requirements.txt

FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# The base image's packaging tools go: nothing is built here.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --no-deps /wheels/*.whl \
    && pip uninstall --quiet --yes setuptools wheel
RUN groupadd --gid 1000 shop && useradd --uid 1000 --gid shop --create-home shop

WORKDIR /app
# Owned by root and read-only to the app user: a compromised process cannot rewrite the code.
COPY . .
# Hashed, compressed copies under /app/staticfiles, served by the app itself (WhiteNoise).
RUN SECRET_KEY=collectstatic-at-build-time-only python manage.py collectstatic --noinput

USER shop
EXPOSE 8000
# Liveness only (answers whatever ALLOWED_HOSTS says); compose replaces it for worker and beat.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--timeout", "30", "--access-logfile", "-"]
