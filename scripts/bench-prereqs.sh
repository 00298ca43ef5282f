#!/usr/bin/env bash
# The benchmarks compare with nginx (file server) and restic (store), measured
# in the same run; install them from Debian's packages when they are missing.
set -euo pipefail
missing=()
command -v nginx >/dev/null 2>&1 || missing+=(nginx)
command -v restic >/dev/null 2>&1 || missing+=(restic)
bash "$(dirname "$0")/apt-install.sh" "benchmark references" "${missing[@]}"
