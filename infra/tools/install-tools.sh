#!/usr/bin/env bash
# Tools the infra tests and deploys use that cannot share the project's virtualenv:
#   .venv-tools/         checkov (pinned in checkov-requirements.txt; its pins clash with the project's)
#   infra/node_modules/  the AWS CDK CLI (pinned in package.json / package-lock.json; needs node + npm)
# Idempotent: does nothing when both are installed at the pinned versions.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
tools="${ANONFLOW_TOOLS_VENV:-$repo/.venv-tools}"
uv="$repo/.venv/bin/uv"
command -v "$uv" >/dev/null 2>&1 || uv="uv"

stamp="$tools/.installed-$(sha256sum "$here/checkov-requirements.txt" | cut -c1-16)"
if [ ! -e "$stamp" ]; then
  rm -rf "$tools"
  "$uv" venv --quiet --python 3.11 "$tools"
  "$uv" pip install --quiet --python "$tools/bin/python" -r "$here/checkov-requirements.txt"
  touch "$stamp"
fi

if command -v npm >/dev/null 2>&1; then
  if [ ! -x "$repo/infra/node_modules/.bin/cdk" ] || [ "$repo/infra/package-lock.json" -nt "$repo/infra/node_modules/.package-lock.json" ]; then
    npm ci --prefix "$repo/infra" --no-audit --no-fund --loglevel=error
  fi
else
  echo "install-tools: npm not found; the CDK CLI check is skipped (install node/npm to deploy)" >&2
fi
