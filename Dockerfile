# studybot with a CUDA build of torch. Build:   docker build -t studybot .
# Run (Telegram, strong sandbox, GPU):
#   docker run --gpus all --cap-add SYS_ADMIN --security-opt seccomp=unconfined \
#     --security-opt apparmor=unconfined -e TELEGRAM_BOT_TOKEN=... -v studybot-data:/app/data studybot
# Console mode, no token:  docker run -it studybot studybot console
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# libseccomp for the sandbox's syscall filter; tini reaps the runner's children.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libseccomp2 tini \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# torch first, in its own layer (large, rarely changing). PyPI's Linux x86_64 wheel of torch is
# the CUDA build, with the CUDA runtime libraries as dependencies; the host needs only the driver.
ARG TORCH_VERSION=2.13.0
RUN pip install "torch==${TORCH_VERSION}"

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY content ./content
COPY db ./db
# Editable, so the bot finds content/ and db/ next to the package, as in a checkout.
RUN pip install -e .

# The bot and its runner read and write only under /app/data (mount a volume there); 0700, like
# the folder the bot creates itself, and a new named volume takes this mode.
RUN mkdir -m 0700 -p /app/data
VOLUME ["/app/data"]

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["studybot", "serve"]
