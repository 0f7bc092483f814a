#!/usr/bin/env bash
# Installs and starts what CustomerAnalysis needs beyond the .NET SDK on Debian 12, idempotently: fonts for headless
# plots, Node.js/npm (for Azurite), Debian's chromium (the browser tests drive it through Playwright's driver, which
# ships in the Microsoft.Playwright package: Playwright's own browser download is not used), Azurite itself (npm,
# into .tools/) started on 127.0.0.1:10000-10002.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
fc-list 2>/dev/null | grep -qi dejavu || packages+=(fonts-dejavu-core fontconfig)
command -v npm >/dev/null || packages+=(nodejs npm)
[[ -x /usr/bin/chromium ]] || packages+=(chromium)
if ((${#packages[@]} > 0)); then
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  echo "setup: installing ${packages[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
fi

scripts/azurite.sh
