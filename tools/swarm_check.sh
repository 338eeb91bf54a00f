#!/usr/bin/env bash
# swarm_check.sh: deploy deploy/swarm/stack.yaml on a one-node Docker Swarm here and check it.
#
# Run as root with a Docker engine up and the image studybot:latest built (tools/deploy_check.sh
# does both, then runs this). It
#   1. makes this engine a one-node swarm (`docker swarm init` on 127.0.0.1) unless it is one,
#      and labels the node for the bot's volume;
#   2. deploys the stack as `sbcheck`, from a copy of stack.yaml whose only changes are: the
#      project's fake Bot API as one more service (the bot's TELEGRAM_API_BASE_URL points at it,
#      so nothing leaves this machine), random host ports, and secrets of its own names;
#   3. checks: three runner tasks, each answering the bot's fleet at the strong level; the bot
#      healthy; /run through Telegram (fake) -> bot -> runners;
#   4. sends jobs at once through the bot's fleet from inside the bot's task and kills one
#      runner task while they run: every job answers once, either with its own output or with
#      the one "runner lost" line (none silently lost, none run twice); Swarm replaces the task,
#      and a second round of jobs is spread over three runners again;
#   5. removes the stack, its secrets, and the swarm if this script created it.
# Exit 0 only if every check passed.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
STACK=sbcheck
JOBS=${SWARM_CHECK_JOBS:-12}
FAILED=0
say() { printf '[swarm_check] %s\n' "$*"; }
ok() { printf 'PASS  %s\n' "$*"; }
bad() { FAILED=$((FAILED + 1)); printf 'FAIL  %s\n' "$*"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.0f", b-a}'; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

docker image inspect studybot:latest >/dev/null 2>&1 || { echo "swarm_check: no image studybot:latest" >&2; exit 2; }

# -- 1. the swarm ------------------------------------------------------------------------------
CREATED=0
if [ "$(docker info -f '{{.Swarm.LocalNodeState}}')" != active ]; then
  docker swarm init --advertise-addr 127.0.0.1 >/dev/null
  CREATED=1
fi
NODE=$(docker info -f '{{.Swarm.NodeID}}')
docker node update --label-add studybot-data=true "$NODE" >/dev/null

W=$(mktemp -d /tmp/swarm-check.XXXXXX)
remove_stack() {
  docker stack rm "$STACK" >/dev/null 2>&1 || true
  for _ in $(seq 1 60); do
    [ -z "$(docker ps -aq -f "label=com.docker.stack.namespace=$STACK")" ] && break
    sleep 1
  done
  docker secret rm "${STACK}_TELEGRAM_BOT_TOKEN" "${STACK}_STUDYBOT_RUNNER_TOKEN" >/dev/null 2>&1 || true
  for _ in $(seq 1 30); do
    docker network rm "${STACK}_studybot" >/dev/null 2>&1 || true
    docker network inspect "${STACK}_studybot" >/dev/null 2>&1 || break
    sleep 1
  done
}
cleanup() {
  if [ -n "${SWARM_CHECK_KEEP:-}" ]; then say "kept: docker stack ps $STACK; $W"; return; fi
  remove_stack
  if [ "$CREATED" = 1 ]; then docker swarm leave --force >/dev/null 2>&1 || true; fi
  rm -rf "$W"
}
trap cleanup EXIT
remove_stack  # what an interrupted run left

# -- 2. the stack ------------------------------------------------------------------------------
mkdir -p "$W/fake"
cp "$REPO/tests/fakebotapi.py" "$W/fake/"
cp "$REPO/deploy/swarm/secret-env.sh" "$W/"
TOKEN="123456789:AAFakeSwarmTokenFakeSwarmToken0123"
printf %s "$TOKEN" | docker secret create "${STACK}_TELEGRAM_BOT_TOKEN" - >/dev/null
od -An -tx1 -N24 /dev/urandom | tr -d ' \n' | docker secret create "${STACK}_STUDYBOT_RUNNER_TOKEN" - >/dev/null
BOT_PORT=$(free_port)
HOOK_PORT=$(free_port)

cat > "$W/fake/serve_fake.py" <<'EOF'
"""The project's fake Bot API on 0.0.0.0:8081, as one Telegram user who sends /start, then /run."""
import asyncio, os, socket, sys, time
sys.path.insert(0, "/fake")
import fakebotapi
from aiohttp import web

def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)

async def main():
    api = fakebotapi.FakeBotAPI(os.environ["FAKE_TOKEN"])
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/bot{token}/{method}", api._handle_api)
    app.router.add_get("/file/bot{token}/{path:.+}", api._handle_file)
    api._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await api._runner.setup()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 8081))
    await web.SockSite(api._runner, s).start()
    log("fake Bot API on 0.0.0.0:8081")
    await api.wait_for_call("getUpdates", timeout=900)
    log("bot is polling")
    seen, answered, tick = 0, False, 0
    api.send_message(424242, 424242, "/start", first_name="Tester")
    await asyncio.sleep(3)
    while True:
        # Again every 15 s until answered: the runners may come up after the bot.
        if not answered and tick % 15 == 0:
            api.send_message(424242, 424242, "/run cpu import torch; print('SWARM', torch.ones(2) * 3)", first_name="Tester")
        tick += 1
        await asyncio.sleep(1)
        calls = api.calls()
        for c in calls[seen:]:
            if c.method.lower() in ("sendmessage", "editmessagetext"):
                text = c.params.get("text") or ""
                answered = answered or "SWARM tensor" in text
                log("BOT ->", c.method, repr(text[:300]))
        seen = len(calls)

asyncio.run(main())
EOF

# The stack file as shipped, with the check's ports, secret names and fake Bot API.
python3 - "$REPO/deploy/swarm/stack.yaml" "$W/stack.yaml" "$STACK" "$BOT_PORT" "$HOOK_PORT" "$W/fake" "$TOKEN" <<'EOF'
import sys
source, target, stack, bot_port, hook_port, fake, token = sys.argv[1:]
text = open(source).read()
def swap(old, new):
    global text
    assert text.count(old) == 1, old
    text = text.replace(old, new)
swap("published: 9464", f"published: {bot_port}")
swap("published: 8080", f"published: {hook_port}")
swap("      STUDYBOT_TIMEZONE: UTC\n",
     "      STUDYBOT_TIMEZONE: UTC\n      TELEGRAM_API_BASE_URL: http://fakeapi:8081/bot\n")
for name in ("TELEGRAM_BOT_TOKEN", "STUDYBOT_RUNNER_TOKEN"):
    swap(f"  {name}:\n    external: true\n", f"  {name}:\n    external: true\n    name: {stack}_{name}\n")
swap("\nnetworks:\n", f"""
  fakeapi:
    image: studybot:latest
    user: "10001:10001"
    read_only: true
    entrypoint: ["python", "/fake/serve_fake.py"]
    environment:
      FAKE_TOKEN: "{token}"
    volumes:
      - type: bind
        source: {fake}
        target: /fake
        read_only: true
    networks: [studybot]
    # A name that resolves to the task itself: this engine runs without iptables, which the
    # virtual IPs of Swarm's default endpoint mode need (the runners use dnsrr anyway).
    deploy:
      endpoint_mode: dnsrr
    healthcheck:
      disable: true

networks:
""")
open(target, "w").write(text)
EOF

t=$(now)
docker stack deploy -c "$W/stack.yaml" "$STACK" >"$W/deploy.log" 2>&1 || { cat "$W/deploy.log"; bad "docker stack deploy"; exit 1; }
ignored=$(grep -i "ignor" "$W/deploy.log" | tr '\n' ' ' || true)
say "deployed ${STACK} (${ignored:-no options ignored})"

# -- 3. runners, bot, /run -----------------------------------------------------------------------
running() { docker service ls -f "name=${STACK}_$1" --format '{{.Name}} {{.Replicas}}' | awk -v n="${STACK}_$1" '$1 == n {print $2}'; }
bot_task() { docker ps -q -f "label=com.docker.swarm.service.name=${STACK}_bot" | head -1; }
for _ in $(seq 1 120); do
  [ "$(running runner)" = 3/3 ] && [ "$(running bot)" = 1/1 ] && [ -n "$(bot_task)" ] && break
  sleep 2
done
[ "$(running runner)" = 3/3 ] && ok "three runner tasks running after $(since "$t") s" || bad "runner tasks: $(running runner)"
# From inside the task, as its healthcheck asks: published ports need iptables, off here.
health=""
for _ in $(seq 1 90); do
  BOT=$(bot_task)
  health=$(docker exec "$BOT" python -m bot.metrics.probe http://127.0.0.1:9464/healthz 2>&1 && echo HEALTHY || true)
  grep -q HEALTHY <<<"$health" && break
  sleep 2
done
grep -q HEALTHY <<<"$health" && ok "bot /healthz answers after $(since "$t") s" || bad "bot /healthz: $health"
load() { docker exec -i "$BOT" python - "$@" < "$REPO/tools/swarm_load.py"; }
members=""
for _ in $(seq 1 60); do
  members=$(load members 2>&1 || true)
  [ "$(grep -c '^MEMBER .* strong$' <<<"$members")" = 3 ] && break
  sleep 2
done
if [ "$(grep -c '^MEMBER .* strong$' <<<"$members")" = 3 ]; then
  ok "the bot's fleet finds 3 runners on tasks.runner, each strong: $(grep -o 'tcp://[^ ]*' <<<"$members" | tr '\n' ' ')"
else
  bad "fleet members: $members"
  docker service logs "${STACK}_runner" 2>&1 | tail -n 20
fi
runline=""
for _ in $(seq 1 60); do
  runline=$(docker service logs --raw "${STACK}_fakeapi" 2>&1 | grep 'BOT -> .*SWARM tensor' | head -1 || true)
  [ -n "$runline" ] && break
  sleep 2
done
[ -n "$runline" ] && ok "/run via Telegram (fake) -> bot -> runners: ${runline#*BOT -> }" || bad "/run via Telegram: no answer"

# -- 4. one runner killed under load -----------------------------------------------------------
out="$W/load1.log"
t=$(now)
load load "$JOBS" 3 >"$out" 2>&1 &
LOAD=$!
for _ in $(seq 1 600); do grep -q '^KILL' "$out" && break; sleep 0.05; done
victim=$(docker ps -q -f "label=com.docker.swarm.service.name=${STACK}_runner" | head -1)
docker kill "$victim" >/dev/null
say "killed runner task ${victim} with ${JOBS} jobs in flight"
wait "$LOAD" || true
summary=$(grep '^SUMMARY' "$out" || true)
read -r okn lost other <<<"$(sed -n 's/^SUMMARY ok=\([0-9]*\) lost=\([0-9]*\) other=\([0-9]*\).*/\1 \2 \3/p' <<<"$summary")"
if [ -n "$summary" ] && [ "$other" = 0 ] && [ "$lost" -ge 1 ] && [ $((okn + lost)) = "$JOBS" ]; then
  ok "one runner killed under load: ${summary#SUMMARY }"
else
  bad "under load: ${summary:-no summary}"; cat "$out"
fi
for _ in $(seq 1 120); do
  [ "$(running runner)" = 3/3 ] && break
  sleep 1
done
[ "$(running runner)" = 3/3 ] && ok "Swarm replaced the killed task: 3/3 again after $(since "$t") s" || bad "runner tasks after the kill: $(running runner)"
out="$W/load2.log"
summary=""
for _ in $(seq 1 30); do
  load load "$JOBS" 1 >"$out" 2>&1 || true
  summary=$(grep '^SUMMARY' "$out" || true)
  grep -q "ok=$JOBS .*runners=3 " <<<"$summary" && break
  sleep 5
done
grep -q "ok=$JOBS lost=0 other=0 runners=3 " <<<"$summary" \
  && ok "after the replacement, jobs spread over 3 runners again: ${summary#SUMMARY }" \
  || { bad "after the replacement: ${summary:-no summary}"; cat "$out"; }

# -- 5. summary ----------------------------------------------------------------------------------
if [ "$FAILED" = 0 ]; then say "every swarm check passed"; else say "$FAILED check(s) failed"; fi
[ "$FAILED" = 0 ]
