#!/usr/bin/env bash
# Installs what CustomerAnalysis needs beyond the .NET SDK: fonts for headless plots. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! fc-list 2>/dev/null | grep -qi dejavu; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-dejavu-core fontconfig >/dev/null
fi
