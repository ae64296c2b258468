#!/usr/bin/env bash
# Builds the Pulumi engine this project runs (the CLI, the Node language host and
# the providers the program uses) from source fetched only through the Go module
# proxy, into ${OPENCLAW_INFRA_CACHE}/pulumi/<versions-hash>/bin, and proves each
# binary's version. Idempotent: a binary already built for these versions is kept.
# Exits non-zero naming every part the proxy would not serve (the rest is still built).
#
# Usage: scripts/build-pulumi-toolchain.sh        build everything, print the bin directory last
#        scripts/build-pulumi-toolchain.sh cli    build only the CLI (what CI needs today)
#        scripts/build-pulumi-toolchain.sh --bin  only print the bin directory
#        scripts/build-pulumi-toolchain.sh --go   only fetch the pinned Go, print its go binary
#                                                 (scripts/build-otelcol.sh builds with it)
set -euo pipefail

cd "$(dirname "$0")/.."
readonly CACHE_ROOT="${OPENCLAW_INFRA_CACHE:-/var/cache/openclaw-infra}"
# The Go that builds everything is itself a module on the proxy (golang.org/toolchain),
# fetched by whatever Go the machine has (>= 1.17: Debian 12's golang-1.19-go will do).
readonly GO_VERSION="1.26.8"
readonly GOROOT_DIR="${CACHE_ROOT}/go/toolchain/go${GO_VERSION}"
readonly GO="${GOROOT_DIR}/bin/go"
export GOMODCACHE="${CACHE_ROOT}/go/mod" GOCACHE="${CACHE_ROOT}/go/build" GOPATH="${CACHE_ROOT}/go/path"
export GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -mod=readonly"
# The module proxy the machine's Go is set up with, never a direct VCS fetch: nothing else is reachable.
bootstrap_go="$(command -v go || command -v /usr/local/go/bin/go /usr/lib/go-1.19/bin/go | head -1 || true)"
GOPROXY="${GOPROXY:-$([[ -n "${bootstrap_go}" ]] && "${bootstrap_go}" env GOPROXY)}"
export GOPROXY="${GOPROXY%,direct}"
export CGO_ENABLED=0

lock_version() { jq -er --arg p "node_modules/$1" '.packages[$p].version' package-lock.json; }
SDK_VERSION="$(lock_version @pulumi/pulumi)"
COMMAND_VERSION="$(lock_version @pulumi/command)"
RANDOM_VERSION="$(lock_version @pulumi/random)"
DOCKER_VERSION="$(lock_version @pulumi/docker)"
readonly SDK_VERSION COMMAND_VERSION RANDOM_VERSION DOCKER_VERSION
# The CLI is pinned apart from the lockfile's @pulumi/pulumi because the proxy
# answers 403 "This module version is not available" for pkg/v3 at the lockfile's
# version (and at 3.271.0, 3.274.1, 3.268.0, 3.265.0; 3.260.0: 403 on the zip);
# 3.256.0 is the nearest tag below it found whose pkg/v3 and sdk/v3 the proxy
# serves and the checksum database verifies. The engine negotiates features with
# a newer SDK. Use SDK_VERSION once the proxy serves it.
readonly CLI_VERSION="3.256.0"

VERSIONS="go=go${GO_VERSION} cli=${CLI_VERSION} sdk=${SDK_VERSION} command=${COMMAND_VERSION} random=${RANDOM_VERSION} docker=${DOCKER_VERSION}"
PREFIX="${CACHE_ROOT}/pulumi/$(printf '%s' "$VERSIONS" | sha256sum | cut -c1-16)"
readonly VERSIONS PREFIX
readonly BIN="${PREFIX}/bin"
if [[ "${1:-}" == "--bin" ]]; then echo "$BIN"; exit 0; fi

mkdir -p "$BIN" "$GOMODCACHE" "$GOCACHE"

install_go() {
  [[ -x "$GO" ]] && return 0
  local bootstrap arch dir
  bootstrap="${bootstrap_go}"
  [[ -n "$bootstrap" ]] || { echo "build-pulumi-toolchain: no Go to fetch go${GO_VERSION} with (apt-get install golang-1.19-go)" >&2; exit 1; }
  case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) echo "build-pulumi-toolchain: unsupported $(uname -m)" >&2; exit 1 ;; esac
  dir="$(GOFLAGS=-mod=mod "$bootstrap" mod download -json "golang.org/toolchain@v0.0.1-go${GO_VERSION}.linux-${arch}" | jq -er .Dir)"
  rm -rf "${GOROOT_DIR}.part"
  mkdir -p "$(dirname "$GOROOT_DIR")"
  cp -r "$dir" "${GOROOT_DIR}.part"
  chmod -R u+w "${GOROOT_DIR}.part"
  chmod +x "${GOROOT_DIR}.part"/bin/* "${GOROOT_DIR}.part"/pkg/tool/*/*
  mv "${GOROOT_DIR}.part" "$GOROOT_DIR"
  [[ "$("$GO" env GOVERSION)" == "go${GO_VERSION}" ]]
}
install_go
if [[ "${1:-}" == "--go" ]]; then echo "$GO"; exit 0; fi
printf '%s\n' "$VERSIONS" >"${PREFIX}/VERSIONS"
refused=()

# Sets MODULE_DIR to the module's source directory, or records the proxy's exact refusal.
download() {
  local json err
  json="$("$GO" mod download -json "$1@$2" 2>/dev/null || true)"
  err="$(jq -r '.Error // empty' <<<"$json")"
  if [[ -n "$err" || -z "$json" ]]; then
    refused+=("${err:-$1@$2: no answer}")
    echo "build-pulumi-toolchain: the module proxy does not serve ${err:-$1@$2: no answer}" >&2
    return 1
  fi
  MODULE_DIR="$(jq -r .Dir <<<"$json")"
}

# The pseudo-version (vMAJOR.0.0-time-hash) of an untagged module at the commit
# a tagged module of the same repository was cut from (the proxy's Origin record).
pseudo_version_at() {
  local info time hash
  info="$("$GO" mod download -json "$2@$3" | jq -er .Info)"
  time="$(date -u -d "$(jq -er .Time "$info")" +%Y%m%d%H%M%S)"
  hash="$(jq -er .Origin.Hash "$info")"
  printf 'v%s.0.0-%s-%s' "$1" "$time" "${hash:0:12}"
}

# Copies a module (read-only in the module cache) to a writable build tree.
place() { rm -rf "$2"; mkdir -p "$(dirname "$2")"; cp -r "$1" "$2"; chmod -R u+w "$2"; }

# Installs a built binary only once its version check passed.
install_checked() {
  local built="$1" name="$2" want="$3" got
  got="$("${@:4}")"
  if [[ "$got" != "$want" ]]; then
    echo "build-pulumi-toolchain: ${name} reports version '${got}', expected '${want}'" >&2
    exit 1
  fi
  mv "$built" "${BIN}/${name}"
  echo "build-pulumi-toolchain: ${name} ${got}"
}

readonly WORK="${PREFIX}/src"

# CLI: pkg/v3 replaces sdk/v3 with ../sdk, so `go install pkg@version` refuses it;
# both modules at the same version are laid side by side and built from pkg/.
build_cli() {
  [[ -x "${BIN}/pulumi" ]] && return 0
  download github.com/pulumi/pulumi/pkg/v3 "v${CLI_VERSION}" || return 0
  place "$MODULE_DIR" "${WORK}/pkg"
  download github.com/pulumi/pulumi/sdk/v3 "v${CLI_VERSION}" || return 0
  place "$MODULE_DIR" "${WORK}/sdk"
  (cd "${WORK}/pkg" && "$GO" build -trimpath -tags osusergo,grpcnotrace \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v${CLI_VERSION}" \
    -o "${WORK}/pulumi" ./cmd/pulumi)
  install_checked "${WORK}/pulumi" pulumi "v${CLI_VERSION}" "${WORK}/pulumi" version
}

# Node language host: its own untagged module inside sdk/, taken at the commit of
# the CLI's tag; its replaces (../../../../pkg, ../../..) resolve in the same tree.
build_language_host() {
  [[ -x "${BIN}/pulumi-language-nodejs" ]] && return 0
  download github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3 \
    "$(pseudo_version_at 3 github.com/pulumi/pulumi/pkg/v3 "v${CLI_VERSION}")" || return 0
  place "$MODULE_DIR" "${WORK}/sdk/nodejs/cmd/pulumi-language-nodejs"
  (cd "${WORK}/sdk/nodejs/cmd/pulumi-language-nodejs" && "$GO" build -trimpath \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v${CLI_VERSION}" \
    -o "${WORK}/pulumi-language-nodejs" .)
  install_checked "${WORK}/pulumi-language-nodejs" pulumi-language-nodejs "v${CLI_VERSION}" \
    "${WORK}/pulumi-language-nodejs" -version
}

# A provider's proof of version: the version in the schema it serves to the engine.
schema_version() { "${BIN}/pulumi" package get-schema "$1" | jq -r .version; }

# Providers, at the versions package-lock pins for their SDKs; the engine finds
# them on PATH as pulumi-resource-<name> without checking their version.
# The steps after the download have not run here: the proxy refuses all three.
build_provider() {
  local name="$1" module="$2" version="$3" module_version="$4" tree
  [[ -x "${BIN}/pulumi-resource-${name}" ]] && return 0
  download "$module" "$module_version" || return 0
  tree="${WORK}/pulumi-${name}/provider"
  place "$MODULE_DIR" "$tree"
  prepare_"${name}" "$tree"
  # Bridged providers embed a schema generated from the Terraform mapping.
  if [[ -f "${tree}/cmd/pulumi-resource-${name}/generate.go" ]]; then
    (cd "$tree" && VERSION="$version" "$GO" generate "./cmd/pulumi-resource-${name}")
  fi
  (cd "$tree" && "$GO" build -trimpath -tags "${BUILD_TAGS:-}" \
    -ldflags "-s -w -X ${module}/pkg/version.Version=${version}" \
    -o "${WORK}/pulumi-resource-${name}" "./cmd/pulumi-resource-${name}")
  install_checked "${WORK}/pulumi-resource-${name}" "pulumi-resource-${name}" "$version" \
    schema_version "${WORK}/pulumi-resource-${name}"
}

# pulumi-command/provider has no replace directives.
prepare_command() { :; }

# pulumi-random/provider replaces the shim module with ./shim, its own module
# (so left out of the provider's zip): a package inside the Terraform provider's
# module path, which may therefore import its internal provider constructor.
prepare_random() {
  mkdir -p "$1/shim"
  printf 'module github.com/terraform-providers/terraform-provider-random/shim\n\ngo 1.25\n' >"$1/shim/go.mod"
  cat >"$1/shim/shim.go" <<'GO'
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"
	random "github.com/terraform-providers/terraform-provider-random/internal/provider"
)

// NewProvider exposes the internal Terraform provider to the bridge.
func NewProvider() provider.Provider { return random.New() }
GO
}

# pulumi-docker/provider replaces the Terraform provider with ../upstream: the
# kreuzwerker provider at the repository's submodule commit with the repository's
# patches/ applied. Neither the submodule pointer nor patches/ is part of any Go
# module, so the proxy cannot serve them.
prepare_docker() {
  echo "build-pulumi-toolchain: pulumi-docker needs ../upstream (kreuzwerker at the submodule commit + patches/), which no Go module carries" >&2
  exit 1
}

build_cli
if [[ "${1:-}" == "cli" ]]; then echo "$BIN"; exit 0; fi
build_language_host
# pulumi-command tags only the repository root (vX.Y.Z) and sdk/, not provider/.
build_provider command github.com/pulumi/pulumi-command/provider "$COMMAND_VERSION" \
  "$(pseudo_version_at 0 github.com/pulumi/pulumi-command "v${COMMAND_VERSION}")"
build_provider random github.com/pulumi/pulumi-random/provider/v4 "$RANDOM_VERSION" "v${RANDOM_VERSION}"
BUILD_TAGS=no_compose build_provider docker github.com/pulumi/pulumi-docker/provider/v5 "$DOCKER_VERSION" "v${DOCKER_VERSION}"

echo "build-pulumi-toolchain: $(du -sh "$PREFIX" | cut -f1) in ${PREFIX}, $(du -sh "$GOMODCACHE" | cut -f1) module cache"
if ((${#refused[@]} > 0)); then
  printf 'build-pulumi-toolchain: not built, the module proxy refused:\n' >&2
  printf '  %s\n' "${refused[@]}" >&2
  exit 2
fi
echo "$BIN"
