#!/usr/bin/env bash
# apt-install.sh WHAT PACKAGE...: installs Debian packages for the prereqs
# scripts (as root, or through sudo), saying what they are for.
set -euo pipefail
what=$1
shift
[ $# -gt 0 ] || exit 0
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing $what: $*" >&2
$SUDO apt-get update -qq
# No recommends: Passenger's would bring a Debian nodejs, and everything here runs on this Node.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
