#!/usr/bin/env bash
# Installs Azurite (npm, into .tools/azurite) if missing and starts it on 127.0.0.1:10000-10002 unless something
# already listens there. Idempotent: safe to call from setup, CI, test fixtures and `ca run`.
# Data goes to .azurite/ (ignored by git); the log to .azurite/azurite.log.
set -euo pipefail
cd "$(dirname "$0")/.."
AZURITE_VERSION=3.37.0
AZURITE_BIN=.tools/azurite/node_modules/.bin/azurite

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if listening 10000 && listening 10001 && listening 10002; then
  echo "azurite: already listening on 10000-10002"
  exit 0
fi

# Test assemblies run in parallel and each calls this script: one installs and starts, the others wait.
mkdir -p .tools
exec 9>.tools/azurite.lock
flock -w 300 9 || { echo "azurite: timed out waiting for another install/start" >&2; exit 1; }
if listening 10000 && listening 10001 && listening 10002; then
  echo "azurite: already listening on 10000-10002"
  exit 0
fi

if [[ ! -x "$AZURITE_BIN" ]]; then
  command -v npm >/dev/null || { echo "azurite: npm is required (apt-get install nodejs npm)" >&2; exit 1; }
  echo "azurite: installing azurite@$AZURITE_VERSION into .tools/azurite"
  npm install --prefix .tools/azurite --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION" >/dev/null
fi

mkdir -p .azurite
# setsid: Azurite outlives this script (and the test run that started it) in its own session.
setsid "$AZURITE_BIN" --silent --skipApiVersionCheck --location .azurite \
  --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 \
  >.azurite/azurite.log 2>&1 < /dev/null 9>&- &

for _ in $(seq 1 100); do
  if listening 10000 && listening 10001 && listening 10002; then
    echo "azurite: started (pid $!, data in .azurite/)"
    exit 0
  fi
  sleep 0.2
done
echo "azurite: did not start within 20 s; see .azurite/azurite.log" >&2
tail -20 .azurite/azurite.log >&2 || true
exit 1
