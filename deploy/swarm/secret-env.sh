#!/bin/sh
# Docker secrets as environment variables: each file in /run/secrets whose name is a variable
# name (TELEGRAM_BOT_TOKEN, STUDYBOT_RUNNER_TOKEN, ...) becomes that variable, then the command
# runs. studybot's settings read only the environment, not *_FILE variables; the stack mounts
# this script as a config so that the image stays as it is.
set -eu
for f in /run/secrets/*; do
    [ -f "$f" ] || continue
    name=${f##*/}
    case "$name" in
        *[!A-Za-z0-9_]* | [0-9]*) continue ;;
    esac
    value=$(cat "$f")
    export "$name=$value"
done
exec "$@"
