# studybot: one image, two containers (see compose.yaml): the bot, non-root with no added
# capabilities, and the /run runner, root with only what the strong sandbox level needs.
#   docker build -t studybot .
# torch is the CUDA build (PyPI's Linux wheel) of the version in constraints-cpu.txt; the host
# needs only the NVIDIA driver. On a host without a GPU the same image runs and GPU requests
# answer "no GPU here". A host that will never have a GPU can build the CPU variant, without
# the CUDA libraries (about 4 GB smaller):
#   docker build --build-arg TORCH=cpu -t studybot .

# --- build: a regular wheel of studybot, then every dependency pinned, in a virtualenv ------
FROM python:3.11-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# cuda (default): PyPI's torch with its nvidia-* libraries; cpu: torch's "+cpu" build from
# PyTorch's CPU index (pip's own PIP_INDEX_URL/PIP_FIND_LINKS, passed as build arguments, serve
# where that index cannot be reached).
ARG TORCH=cuda
ARG PIP_FIND_LINKS

WORKDIR /src
COPY constraints-image.txt constraints-cpu.txt ./
# The build backend, pinned like everything else.
RUN pip install --no-cache-dir setuptools==84.2.1 wheel==0.45.1

COPY pyproject.toml setup.py README.md ./
COPY bot ./bot
COPY db ./db
COPY content ./content
# Not editable: the migrations (db/) and the question bank (content/) travel inside the wheel
# as package data.
RUN pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels .

# Every version comes from constraints-image.txt, so two builds of one commit are the same. The
# CPU variant installs torch first: its 2.13.0+cpu satisfies the image's torch==2.13.0, so the
# CUDA build and its nvidia-* libraries are never fetched.
RUN python -m venv /opt/studybot \
    && if [ "$TORCH" = cpu ]; then \
        /opt/studybot/bin/pip install --no-cache-dir --no-deps -c constraints-cpu.txt torch \
            --extra-index-url https://download.pytorch.org/whl/cpu; \
    elif [ "$TORCH" != cuda ]; then echo "TORCH must be cuda or cpu, not $TORCH" >&2; exit 2; fi \
    && /opt/studybot/bin/pip install --no-cache-dir -c constraints-image.txt \
        /wheels/studybot-*.whl

# --- runtime ------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/studybot/bin:$PATH \
    STUDYBOT_DATABASE=/app/data/studybot.db \
    STUDYBOT_HEALTH_URL=http://127.0.0.1:9464/healthz

# libseccomp2 for the sandbox's syscall filter; tini as PID 1 reaps the runner's children and
# passes SIGTERM on, so `docker stop` is a graceful stop; a small CJK font (about 5 MB) so that
# /stats pictures draw Chinese labels instead of falling back to English.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libseccomp2=2.5.4-1+deb12u1 tini=0.19.0-1+b3 \
        fonts-wqy-microhei=0.2.0-beta-3.1 \
    && rm -rf /var/lib/apt/lists/*

COPY --from=build /opt/studybot /opt/studybot

# The bot's user: it owns only /app/data (0700; a new named volume takes this mode and owner).
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin studybot \
    && mkdir -p /app/data \
    && chown studybot:studybot /app/data \
    && chmod 0700 /app/data
WORKDIR /app
VOLUME ["/app/data"]
USER 10001:10001

EXPOSE 8080 9464

# The bot's /healthz (database, runner, scheduler, Bot API); the runner's service overrides
# STUDYBOT_HEALTH_URL with its own.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-m", "bot.metrics.probe"]

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["studybot", "serve"]
