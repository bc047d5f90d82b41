# syntax=docker/dockerfile:1
# The container image of the integration-monitor daemon.
#   docker build -t integration-monitor:0.1.0 .
#   docker run --rm -p 127.0.0.1:9477:9477 --env-file monitor.env integration-monitor:0.1.0

# One pinned base for both stages: the virtual environment built in the first stage
# points at this interpreter, so both stages must carry the same one.
ARG PYTHON_IMAGE=python:3.11.17-slim-trixie

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
# Only what the wheel is built from, and the lock; .dockerignore keeps the rest of the tree out.
COPY pyproject.toml README.md requirements.lock ./
COPY monitor/ monitor/
# Build our wheel, then install it into a self-contained venv over exactly the dependency
# versions of requirements.lock, each checked against its hash: rebuilding next month gives
# the same image, not whatever was newest that day. --no-deps on the wheel keeps pip from
# adding anything the lock lacks, and `pip check` fails the build if the lock misses one.
# Every dependency ships manylinux wheels, so no compiler is needed here.
# The venv gets no pip of its own: the image needs none at run time.
RUN pip wheel --no-deps --wheel-dir /wheels . \
    && python -m venv --without-pip /opt/integration-monitor \
    && pip --python /opt/integration-monitor/bin/python install \
       --require-hashes --only-binary :all: --no-deps -r requirements.lock \
    && pip --python /opt/integration-monitor/bin/python install --no-deps /wheels/integration_monitor-*.whl \
    && pip --python /opt/integration-monitor/bin/python check

FROM ${PYTHON_IMAGE} AS runtime
ARG MONITOR_UID=10001
# A numeric user, so that Kubernetes' runAsNonRoot can verify it without /etc/passwd.
RUN groupadd --system --gid "${MONITOR_UID}" monitor \
    && useradd --system --uid "${MONITOR_UID}" --gid monitor --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin monitor
COPY --from=builder /opt/integration-monitor /opt/integration-monitor
# Bytecode was compiled at install time; a read-only root filesystem must not be written to.
ENV PATH=/opt/integration-monitor/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MONITOR_LOG_FORMAT=json
# The daemon also reads ./.env: start it in an empty directory it cannot write to.
WORKDIR /app
USER ${MONITOR_UID}:${MONITOR_UID}
EXPOSE 9477
# No curl in a slim image: the interpreter itself asks /livez; any non-2xx raises.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('MONITOR_PORT', '9477') + '/livez', timeout=4)"]
ENTRYPOINT ["integration-monitor"]
CMD ["run"]
