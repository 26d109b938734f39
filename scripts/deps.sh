#!/bin/sh
# Install the Debian packages of a list that are missing (apt-get, as root). Fast when all
# are present: one dpkg-query, no network.
#   sh scripts/deps.sh [LIST]    LIST defaults to deps.txt (deps-bench.txt: benchmark-only packages)
set -e
cd "$(dirname "$0")/.."
list=${1:-deps.txt}
want=$(grep -v '^#' "$list" | tr -s ' \n' '\n' | grep -v '^$')
missing=""
for p in $want; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps: not root; run as root or install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing
