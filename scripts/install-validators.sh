#!/usr/bin/env bash
# Installs the external tools the test suites use as oracles:
# Debian packages (as root, with apt-get) and the OpenClaw CLI of every release
# infra/versions.json lists, with its own Node 24, both from the npm registry,
# into .cache/tools.
set -euo pipefail

cd "$(dirname "$0")/.."
readonly TOOLS_DIR="${PWD}/.cache/tools"

readonly DEBIAN_PACKAGES=(
  squid caddy shellcheck iptables iproute2 openssh-server restic ufw
  systemd curl ca-certificates jq
)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-validators: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The squid package starts a system squid on :3128; the tests run their own.
if command -v systemctl >/dev/null && systemctl is-active --quiet squid 2>/dev/null; then
  systemctl stop squid || true
fi

install_npm_tool() {
  local dir="$1" spec="$2"
  if [[ -f "${dir}/.installed" && "$(cat "${dir}/.installed")" == "${spec}" ]]; then
    return 0
  fi
  rm -rf "${dir}"
  mkdir -p "${dir}"
  (cd "${dir}" && npm init -y >/dev/null && npm install --ignore-scripts --no-audit --no-fund --loglevel=error "${spec}")
  echo "${spec}" >"${dir}/.installed"
}

# The `node` package only fetches its binary from a preinstall script, which
# --ignore-scripts skips; the per-platform package it would fetch holds the binary.
case "$(uname -m)" in
  x86_64) node_arch=x64 ;;
  aarch64) node_arch=arm64 ;;
  *) echo "install-validators: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
# Every pin comes from infra/versions.json, the file the program reads too.
readonly VERSIONS=infra/versions.json
install_npm_tool "${TOOLS_DIR}/node24" "node-linux-${node_arch}@$(jq -er .node24 "${VERSIONS}")"
while read -r release; do
  install_npm_tool "${TOOLS_DIR}/openclaw-${release}" "openclaw@${release}"
done < <(jq -er '.openclaw.releases[]' "${VERSIONS}")

"${TOOLS_DIR}/node24/node_modules/node-linux-${node_arch}/bin/node" --version
echo "install-validators: tools ready in ${TOOLS_DIR}"
