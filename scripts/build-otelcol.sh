#!/usr/bin/env bash
# Builds the test OpenTelemetry collector: the OpenTelemetry Collector Builder at
# the release the pinned image tag names (infra/versions.json images.otelCollector),
# fed tests/images/otelcol/builder.yaml, with the project's pinned Go, from the Go
# module proxy only, into ${OPENCLAW_INFRA_CACHE}/tools/otelcol-<version>/otelcol-contrib.
# The published image cannot be pulled here; this binary is what the tests run
# (`validate` on the rendered config, and the stand-in image of tests/support/images.ts).
# Idempotent: a binary built from the same version, manifest and Go is kept.
#
# Usage: scripts/build-otelcol.sh          build if needed, print the binary's path last
#        scripts/build-otelcol.sh --path   only print the binary's path
set -euo pipefail

cd "$(dirname "$0")/.."
readonly CACHE_ROOT="${OPENCLAW_INFRA_CACHE:-/var/cache/openclaw-infra}"
readonly MANIFEST=tests/images/otelcol/builder.yaml
# One source for the version: the image tag (otel/opentelemetry-collector-contrib:<version>).
VERSION="$(jq -er '.images.otelCollector' infra/versions.json | sed -nE 's/^[^:]+:([0-9]+\.[0-9]+\.[0-9]+)$/\1/p')"
[[ -n "${VERSION}" ]] || { echo "build-otelcol: images.otelCollector has no x.y.z tag" >&2; exit 1; }
readonly VERSION
readonly DIR="${CACHE_ROOT}/tools/otelcol-${VERSION}"
readonly BINARY="${DIR}/otelcol-contrib"
if [[ "${1:-}" == "--path" ]]; then echo "${BINARY}"; exit 0; fi

GO="$(bash scripts/build-pulumi-toolchain.sh --go)"
readonly GO
STAMP="$(cat "${MANIFEST}" <("${GO}" env GOVERSION) | sha256sum | cut -c1-16)"
readonly STAMP
if [[ -x "${BINARY}" && "$(cat "${DIR}/.built" 2>/dev/null)" == "${STAMP}" ]]; then
  echo "${BINARY}"
  exit 0
fi

export GOMODCACHE="${CACHE_ROOT}/go/mod" GOCACHE="${CACHE_ROOT}/go/build" GOPATH="${CACHE_ROOT}/go/path"
# The proxy the machine's Go is set up with, never a direct VCS fetch (nothing else is reachable);
# -p 2: the CI machine has two cores and shares them.
GOPROXY="$("${GO}" env GOPROXY)"
export GOPROXY="${GOPROXY%,direct}" GOTOOLCHAIN=local GOFLAGS="-modcacherw -p=2"
started=${SECONDS}
rm -rf "${DIR}"
mkdir -p "${DIR}/src"
GOBIN="${DIR}" "${GO}" install "go.opentelemetry.io/collector/cmd/builder@v${VERSION}"
# The v1.x modules (config providers) are released together with v0.x; the
# exporter's go.mod at this release names the matching one.
exporter_gomod="$("${GO}" mod download -json "go.opentelemetry.io/collector/exporter/otlphttpexporter@v${VERSION}" | jq -er .GoMod)"
STABLE_VERSION="$(awk '$1 == "go.opentelemetry.io/collector/confmap" { print $2; exit }' "${exporter_gomod}")"
[[ "${STABLE_VERSION}" == v1.* ]] || { echo "build-otelcol: no confmap v1.x in otlphttpexporter v${VERSION}'s go.mod" >&2; exit 1; }
sed -e "s/\${OTELCOL_VERSION}/${VERSION}/g" -e "s/\${OTELCOL_STABLE_VERSION}/${STABLE_VERSION}/g" \
  -e "s|^dist:|dist:\n  output_path: ${DIR}/src\n  go: ${GO}|" "${MANIFEST}" >"${DIR}/builder.yaml"
# Strict versioning: the build fails if dependency resolution would move any
# component off the version the manifest names.
"${DIR}/builder" --config="${DIR}/builder.yaml" --skip-strict-versioning=false
mv "${DIR}/src/otelcol-contrib" "${BINARY}"
rm -rf "${DIR}/src"
[[ "$("${BINARY}" --version)" == "otelcol-contrib version ${VERSION}" ]]
echo "${STAMP}" >"${DIR}/.built"
echo "build-otelcol: built otelcol-contrib ${VERSION} in $((SECONDS - started)) s" >&2
echo "${BINARY}"
