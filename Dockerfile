# syntax=docker/dockerfile:1
# The production image: the project installed into a venv by a builder stage, run as a non-root user.

FROM python:3.11-slim-bookworm AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

# The same `pip install .` as a fresh clone's `make install`, without the editable flag and without extras,
# so the image holds the runtime dependencies of pyproject.toml and nothing from the test extra.
COPY pyproject.toml README.md ./
COPY engine ./engine
COPY app ./app
RUN pip install --no-cache-dir .


FROM python:3.11-slim-bookworm

# Debian's security updates replace package versions within bookworm, so an exact pin would break rebuilds.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends graphviz \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 gradserve \
    && useradd --system --uid 10001 --gid gradserve --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin gradserve

COPY --from=builder /opt/venv /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GRADSERVE_HOST=0.0.0.0 \
    GRADSERVE_PORT=8000

USER 10001:10001
EXPOSE 8000

# slim images have no curl; urlopen raises (exit 1) on a refused connection or a non-2xx answer
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('GRADSERVE_PORT', '8000'), timeout=4)"]

ENTRYPOINT ["gradserve"]
