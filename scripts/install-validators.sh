#!/usr/bin/env bash
# Installs the external tools the test suites use as oracles:
# Debian packages (as root, with apt-get) and the OpenClaw CLI of every release
# infra/versions.json lists, with its own Node 24, both from the npm registry,
# into the tool cache outside the clone (tests/support/tools.ts reads the same root).
set -euo pipefail

cd "$(dirname "$0")/.."
readonly CACHE_ROOT="${OPENCLAW_INFRA_CACHE:-/var/cache/openclaw-infra}"
readonly TOOLS_DIR="${CACHE_ROOT}/tools"

readonly DEBIAN_PACKAGES=(
  squid caddy shellcheck iptables iproute2 openssh-server restic ufw
  systemd curl ca-certificates jq
  # The test VPS harness (tests/support/vps.ts), the image builds (tests/support/images.ts) and the
  # socket proxy's private dockerd with busybox sandboxes (tests/support/dockerd.ts).
  docker.io debootstrap systemd-container busybox-static bsdutils
  golang-1.19-go  # only to fetch the pinned Go: scripts/build-pulumi-toolchain.sh
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

# actionlint (lints .github/workflows, shellchecking their run: blocks), built
# from the Go module proxy; Go's module and build caches live in the cache root.
readonly ACTIONLINT_VERSION="v1.7.12"
if [[ "$("${TOOLS_DIR}/bin/actionlint" -version 2>/dev/null | head -n 1)" != "${ACTIONLINT_VERSION}" ]]; then
  # The project's pinned Go (actionlint needs Go >= 1.25; Debian 12's golang-1.19-go only bootstraps it).
  go_bin="$(bash scripts/build-pulumi-toolchain.sh --go)"
  go_cache="${OPENCLAW_INFRA_CACHE:-/var/cache/openclaw-infra}/go"
  GOBIN="${TOOLS_DIR}/bin" GOMODCACHE="${go_cache}/mod" GOCACHE="${go_cache}/build" GOFLAGS=-modcacherw \
    "${go_bin}" install "github.com/rhysd/actionlint/cmd/actionlint@${ACTIONLINT_VERSION}"
fi

# The OpenTelemetry collector at the pinned image's release, built with the
# Collector Builder from the Go module proxy (the image cannot be pulled here).
bash scripts/build-otelcol.sh

"${TOOLS_DIR}/node24/node_modules/node-linux-${node_arch}/bin/node" --version
echo "install-validators: tools ready in ${TOOLS_DIR}"

# The test VPS root filesystem (Debian 12 + systemd + sshd + Docker Engine), cached by recipe hash,
# and the stand-in images of every workload (tests/images), cached by content hash.
node_modules/.bin/tsx tests/support/vps.ts prepare
# What a tailscale-host test host installs (Node, npm, every pinned OpenClaw release), served to it from this cache.
node_modules/.bin/tsx tests/support/npmCache.ts prepare
mkdir -p "${CACHE_ROOT}/images"
flock "${CACHE_ROOT}/images/.lock" node_modules/.bin/tsx tests/support/images.ts build
