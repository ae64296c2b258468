#!/usr/bin/env bash
# Prints the Debian mirror this machine's apt uses (deb822 sources first, then
# sources.list), so debootstrap fetches from the same place apt-get does.
# DEBIAN_MIRROR overrides it.
set -euo pipefail
if [[ -n "${DEBIAN_MIRROR:-}" ]]; then echo "${DEBIAN_MIRROR}"; exit 0; fi
mirror=""
for f in /etc/apt/sources.list.d/*.sources; do
  [[ -f "$f" ]] || continue
  mirror=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f")
  [[ -n "${mirror}" ]] && break
done
if [[ -z "${mirror}" && -f /etc/apt/sources.list ]]; then
  mirror=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)
fi
[[ -n "${mirror}" ]] || { echo "debian-mirror: no Debian mirror in apt's sources; set DEBIAN_MIRROR" >&2; exit 1; }
echo "${mirror}"
