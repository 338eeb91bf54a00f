#!/usr/bin/env bash
# deploy_check.sh: build the image (CPU variant) and smoke-test the compose deployment here.
#
# Run as root on a Debian 12 machine (CI runs it from .ci/run). It
#   1. starts a Docker engine with the compose v2 plugin, and a stand-in base image where no
#      registry can be reached (../shared/testhost/docker-up.sh, or $STUDYBOT_TESTHOST);
#   2. builds studybot:latest with --build-arg TORCH=cpu twice, timing the first build and the
#      cached one, and prints the image's size;
#   3. runs the deployment checks of testhost/compose-smoke.sh (up, health, the runner at the
#      strong level, the bot non-root, /healthz, /run through Telegram and the console,
#      backup, stop under 15 s);
#   4. starts the deployment again and checks the bot's and the runner's /metrics, and that the
#      runner refuses a request with a wrong token (and answers one with the right token);
#   5. removes the deployment, then deploys deploy/swarm/stack.yaml on a one-node swarm and
#      kills a runner task under load (tools/swarm_check.sh). Exit 0 only if every check passed.
#
# Where PyTorch's CPU index cannot be reached but pip's find-links holds the torch wheel (as on
# the test machines), that folder is served on 127.0.0.1 for the build (which uses the host's
# network) and passed as PIP_FIND_LINKS.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
TESTHOST=${STUDYBOT_TESTHOST:-$REPO/../shared/testhost}
for f in docker-up.sh compose-smoke.sh; do
  [ -f "$TESTHOST/$f" ] || { echo "deploy_check: no $TESTHOST/$f (set STUDYBOT_TESTHOST)" >&2; exit 2; }
done

FAILED=0
say() { printf '[deploy_check] %s\n' "$*"; }
ok() { printf 'PASS  %s\n' "$*"; }
bad() { FAILED=$((FAILED + 1)); printf 'FAIL  %s\n' "$*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.0f", b-a}'; }

# -- 1. the engine ---------------------------------------------------------------------------
t=$(now)
bash "$TESTHOST/docker-up.sh"
say "docker-up.sh: $(since "$t") s"

# -- 2. the image ----------------------------------------------------------------------------
BUILD_ARGS=(--build-arg TORCH=cpu)
SERVER_PID=
cleanup_server() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null || true; }
trap cleanup_server EXIT
links=${PIP_FIND_LINKS:-$(pip3 config get global.find-links 2>/dev/null || true)}
for dir in $links; do
  if [ -d "$dir" ] && ls "$dir"/torch-*+cpu-*.whl >/dev/null 2>&1; then
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    python3 -m http.server --bind 127.0.0.1 --directory "$dir" "$port" >/dev/null 2>&1 &
    SERVER_PID=$!
    BUILD_ARGS+=(--build-arg "PIP_FIND_LINKS=http://127.0.0.1:$port/")
    say "serving the local wheels of $dir on 127.0.0.1:$port for the build"
    break
  fi
done
build() {
  DOCKER_BUILDKIT=0 docker build --network host "${BUILD_ARGS[@]}" -t studybot:latest "$REPO"
}
t=$(now)
build >/tmp/deploy-check-build.log 2>&1 || { tail -n 30 /tmp/deploy-check-build.log; bad "docker build"; exit 1; }
first=$(since "$t")
t=$(now)
build >/tmp/deploy-check-build2.log 2>&1 || { tail -n 30 /tmp/deploy-check-build2.log; bad "docker build (cached)"; exit 1; }
cached=$(since "$t")
cleanup_server; SERVER_PID=
size=$(docker image inspect -f '{{.Size}}' studybot:latest | awk '{printf "%.2f GB", $1/1e9}')
ok "docker build --build-arg TORCH=cpu: ${first} s, again (cached) ${cached} s; image ${size}"
torch=$(docker run --rm --entrypoint python studybot:latest -c 'import torch; print(torch.__version__)' 2>/dev/null)
[[ "$torch" == *+cpu ]] && ok "the image's torch is $torch" || bad "the image's torch is '$torch', not a +cpu build"

# -- 3. the deployment checks ----------------------------------------------------------------
SMOKE_LOG=/tmp/deploy-check-smoke.log
t=$(now)
set +e
bash "$TESTHOST/compose-smoke.sh" "$REPO" --keep 2>&1 | tee "$SMOKE_LOG"
smoke_rc=${PIPESTATUS[0]}
set -e
say "compose-smoke.sh: $(since "$t") s"
[ "$smoke_rc" = 0 ] || bad "compose-smoke.sh (exit $smoke_rc)"
W=$(sed -n 's/^work folder: //p' "$SMOKE_LOG" | head -1)
[ -n "$W" ] && [ -d "$W" ] || { bad "compose-smoke.sh left no work folder"; exit 1; }
C=(docker compose -p studybot-smoke --project-directory "$W"
   -f "$W/compose.yaml" -f "$W/compose.cpu.yaml" -f "$W/compose.smoke.yaml")
cleanup_all() { cleanup_server; "${C[@]}" down -v -t 20 >/dev/null 2>&1 || true; rm -rf "$W"; }
trap cleanup_all EXIT

# -- 4. metrics and the runner's token -------------------------------------------------------
t=$(now)
"${C[@]}" start runner bot >/dev/null 2>&1
bot_port=$("${C[@]}" port bot 9464 | tail -1)
runner_port=$("${C[@]}" port runner 9465 | tail -1)
code=000
for _ in $(seq 1 90); do
  code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://$bot_port/healthz" || true)
  [ "$code" = 200 ] && break
  sleep 2
done
[ "$code" = 200 ] && ok "restarted: bot /healthz 200 after $(since "$t") s" || bad "bot /healthz after restart: $code"
metrics=$(curl -s -m 5 "http://$bot_port/metrics" || true)
if grep -q '^studybot_runs_total\|^# TYPE studybot_' <<<"$metrics"; then
  ok "bot /metrics: $(grep -c '^# TYPE studybot_' <<<"$metrics") studybot_ metric families"
else
  bad "bot /metrics: $(head -c 300 <<<"$metrics")"
fi
rmetrics=$(curl -s -m 5 "http://$runner_port/metrics" || true)
level=$(sed -n 's/^studybot_sandbox_level \([0-9.]*\).*/\1/p' <<<"$rmetrics" | head -1)
[ "${level%.*}" = 2 ] && ok "runner /metrics: studybot_sandbox_level $level (strong)" \
  || bad "runner /metrics: studybot_sandbox_level '$level'"
probe='
import asyncio, os, sys
from bot.runclient import RunnerClient
token = os.environ["STUDYBOT_RUNNER_TOKEN"] if sys.argv[1] == "right" else "wrong-token-" + "0" * 20
try:
    info = asyncio.run(RunnerClient("tcp://runner:8765", token).info())
    print("ANSWERED", info.level)
except Exception as e:
    print("REFUSED", type(e).__name__, str(e)[:200])
'
right=$("${C[@]}" exec -T bot python -c "$probe" right 2>&1 | tail -1)
wrong=$("${C[@]}" exec -T bot python -c "$probe" wrong 2>&1 | tail -1)
[[ "$right" == "ANSWERED strong" ]] && ok "runner answers the bot's token: $right" || bad "runner with the right token: $right"
[[ "$wrong" == REFUSED* ]] && ok "runner refuses a wrong token: $wrong" || bad "runner with a wrong token: $wrong"

# -- 5. the Swarm stack: deploy/swarm/stack.yaml on a one-node swarm, a runner killed under load
cleanup_all; trap cleanup_server EXIT
t=$(now)
set +e
bash "$REPO/tools/swarm_check.sh"
swarm_rc=$?
set -e
say "swarm_check.sh: $(since "$t") s"
[ "$swarm_rc" = 0 ] || bad "swarm_check.sh (exit $swarm_rc)"

# -- 6. summary ------------------------------------------------------------------------------
if [ "$FAILED" = 0 ]; then say "every deployment check passed"; else say "$FAILED check(s) failed"; fi
[ "$FAILED" = 0 ]
