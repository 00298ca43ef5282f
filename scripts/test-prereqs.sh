#!/usr/bin/env bash
# The deployment tests (test/deploy.test.ts) run the file server under the web
# servers hosts really use: Apache with Phusion Passenger (what cPanel runs
# Node.js apps with) and nginx as a TLS proxy; the netsim test builds network
# namespaces with iproute2's ip. Install Debian's packages when they are missing.
set -euo pipefail
missing=()
[ -x /usr/sbin/apache2 ] || missing+=(apache2)
[ -f /usr/lib/apache2/modules/mod_passenger.so ] || missing+=(libapache2-mod-passenger)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
bash "$(dirname "$0")/apt-install.sh" "what the deployment and netsim tests run" "${missing[@]}"
