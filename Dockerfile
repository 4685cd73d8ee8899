# syntax=docker/dockerfile:1
# Andon in a container: `docker build -t andon .`, then docs/operations.md ("Running it").
# Two stages: the build stage makes a virtualenv at /opt/andon/.venv; the runtime stage copies
# only that virtualenv onto a slim Python with git and ssh, and runs it as a user of its own.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ─── build: the locked dependencies, then Andon itself, into /opt/andon/.venv ──────────────────
FROM ${PYTHON_IMAGE} AS build

# uv from PyPI, as the Makefile gets it (ghcr.io/astral-sh/uv serves the same binary as an image).
ARG UV_VERSION=0.13.9
RUN python -m pip install --no-cache-dir --root-user-action=ignore "uv==${UV_VERSION}"

ENV UV_PROJECT_ENVIRONMENT=/opt/andon/.venv \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1
WORKDIR /src

# The dependencies first, in a layer of their own that a change to Andon's code leaves cached.
# With uv.lock (the committed lock file) they are exactly the locked versions, without the dev
# set. `--locked` rather than `--frozen`: both install the lock as it is, but `--frozen` also
# installs a lock that no longer matches pyproject.toml, where `--locked` stops the build and
# says to run `uv lock`. A tree without uv.lock gets what pyproject.toml allows, resolved today.
# (`uv.lock*` copies the lock when there is one and nothing otherwise.)
COPY pyproject.toml uv.lock* ./
RUN if [ -f uv.lock ]; then \
        uv sync --locked --no-dev --no-install-project; \
    else \
        uv venv "$UV_PROJECT_ENVIRONMENT" \
        && uv pip install --python "$UV_PROJECT_ENVIRONMENT/bin/python" -r pyproject.toml; \
    fi

# Andon itself, installed (not editable: /src stays behind in this stage).
COPY . .
RUN if [ -f uv.lock ]; then \
        uv sync --locked --no-dev --no-editable; \
    else \
        uv pip install --python "$UV_PROJECT_ENVIRONMENT/bin/python" --no-deps .; \
    fi \
    && "$UV_PROJECT_ENVIRONMENT/bin/andon" --help > /dev/null

# ─── runtime: Python, git and ssh, the virtualenv, and a user that is not root ────────────────
FROM ${PYTHON_IMAGE} AS runtime

# git reads the repository ([repo] path, the built-in CI runner); ssh is there for people and
# hooks (Andon's own deploys speak SSH through paramiko, inside the virtualenv).
RUN apt-get update \
    && apt-get install -y --no-install-recommends git openssh-client \
    && rm -rf /var/lib/apt/lists/*

# A fixed uid/gid, so that files mounted in (config, SSH key) can be given to it on the host.
RUN groupadd --system --gid 10001 andon \
    && useradd --system --uid 10001 --gid andon --home-dir /var/lib/andon \
        --shell /usr/sbin/nologin andon \
    && install -d -o andon -g andon -m 0750 /var/lib/andon \
    && install -d -m 0755 /etc/andon

COPY --from=build /opt/andon/.venv /opt/andon/.venv

# Inside a container Andon listens on every interface (outside one its default is 127.0.0.1).
# The database lives in the volume; the config is mounted at /etc/andon/andon.toml (without one,
# every section is off and the line runs with the terminal as its channel). Secrets come from
# the environment (`docker run --env-file`, compose's env_file), never from the image.
ENV PATH=/opt/andon/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    ANDON_HTTP_HOST=0.0.0.0 \
    ANDON_HTTP_PORT=3000 \
    ANDON_DATABASE_URL=sqlite:////var/lib/andon/andon.db \
    ANDON_CONFIG=/etc/andon/andon.toml

WORKDIR /var/lib/andon
VOLUME ["/var/lib/andon"]
USER 10001:10001
EXPOSE 3000

# /healthz answers 200 "ok" while Andon serves; Python's urllib fails on anything else.
# The start period covers the migrations a first start (or an upgrade) runs.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/opt/andon/.venv/bin/python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('ANDON_HTTP_PORT', '3000') + '/healthz', timeout=4)"]

# SIGTERM lets requests finish and deploys reach a safe point within [http] stop_grace (default
# 20 s): give `docker stop` longer than that (`--time 30`; compose's stop_grace_period).
STOPSIGNAL SIGTERM
ENTRYPOINT ["andon"]
CMD ["serve"]
