/**
 * OpenclawHost: OpenClaw installed on the host itself (seed 003), one or more
 * gateway instances, each under its own locked system user (no login shell,
 * never in the docker group), its own port, state dir and hardened unit.
 *
 * - Node, npm and OpenClaw are npm-registry tarballs checked against pinned
 *   SRI hashes (infra/versions.ts) before use. Every OpenClaw release lives
 *   in its own root-owned directory; `current` is a symlink, so an upgrade is
 *   a new directory plus a switch and a rollback is a switch back
 *   (`openclaw-use-release <version>`, which reverts itself when the
 *   gateways do not come back healthy).
 * - openclaw.json comes from the same renderer as the containers (bind
 *   loopback, `gateway.tailscale.mode: off`: root runs `tailscale serve`, the
 *   gateway never drives tailscaled); the gateway token is a
 *   root-only file handed to the unit with LoadCredential, or resolved by
 *   `op run` (1Password) when configured.
 * - SOUL.md is root-owned and bind-mounted read-only into the workspace, so
 *   the service can neither change nor replace it.
 * - Sandboxes reach Docker only through the strict socket proxy program, one
 *   per instance, on a unix socket only that instance's group can open.
 */
import { createHash } from "node:crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { hostFile } from "../infra/files";
import { asRoot, Host } from "../infra/hosts";
import { generatedSecret } from "../infra/secrets";
import { HOST_NODE, HOST_NPM, OPENCLAW_RELEASE_INTEGRITY } from "../infra/versions";
import { DirectModels, directModelFiles, renderOpenclawConfig, renderSoul } from "./openclawConfig";
import { renderSocketProxyPolicy, socketProxyServerSource } from "./socketProxy";
import { cpuQuota, ServiceUnitSpec, SystemdUnit } from "./systemdUnit";

/** Where everything OpenClaw-owned lives on the host (one source for every path). */
export const HOST_PATHS = {
  opt: "/opt/openclaw",
  releases: "/opt/openclaw/releases",
  current: "/opt/openclaw/current",
  node: `/opt/openclaw/node/${HOST_NODE.version}/bin/node`,
  npmCli: `/opt/openclaw/npm/${HOST_NPM.version}/bin/npm-cli.js`,
  socketProxy: "/opt/openclaw/socket-proxy/server.js",
  etc: "/etc/openclaw",
  credentials: "/etc/openclaw/credentials",
  soul: "/etc/openclaw/soul",
  dockerProxyPolicies: "/etc/openclaw/docker-proxy",
  sbin: "/usr/local/sbin",
  /** Prints a copy of an instance's openclaw.json that root can audit (renderAuditConfigScript). */
  auditConfig: "/usr/local/sbin/openclaw-audit-config",
  /** Each instance's state as a release left it (openclaw-use-release): a downgrade needs the older state back. */
  stateByRelease: "/var/lib/openclaw/state-by-release",
} as const;
/** Parent of every instance's socket-proxy listener directory. */
export const DOCKER_PROXY_SOCKETS = "/run/openclaw-docker-proxy";
/** The user that runs the socket proxies: in the docker group, which no gateway user ever is. */
export const DOCKER_PROXY_USER = "openclaw-dockerproxy";

export interface HostInstance {
  /** Instance name from config (`primary`). */
  name: string;
  port: number;
}

/** The credential a provider's key is loaded as by every gateway unit. */
const providerKeyCredential = (providerId: string) => `${providerId}-api-key`;

/** Every per-instance name and path, derived from the instance name in one place. */
export function instancePaths(name: string) {
  const user = `openclaw-${name}`;
  const home = `/var/lib/${user}`;
  /** A credential as the unit sees it (LoadCredential <name>). */
  const credential = (credentialName: string) => `/run/credentials/${user}.service/${credentialName}`;
  return {
    user,
    unit: user,
    proxyUnit: `openclaw-docker-proxy-${name}`,
    home,
    stateDir: `${home}/.openclaw`,
    workspace: `${home}/workspace`,
    sandboxes: `${home}/sandboxes`,
    configDir: `${HOST_PATHS.etc}/${name}`,
    config: `${HOST_PATHS.etc}/${name}/openclaw.json`,
    opEnv: `${HOST_PATHS.etc}/${name}/op.env`,
    /** Read by the socket proxy's user, so not in the instance's 0700 config dir. */
    proxyPolicy: `${HOST_PATHS.dockerProxyPolicies}/${name}.json`,
    tokenFile: `${HOST_PATHS.credentials}/${name}-gateway-token`,
    opTokenFile: `${HOST_PATHS.credentials}/${name}-op-service-account-token`,
    credential,
    tokenCredential: credential("gateway-token"),
    telegramTokenFile: `${HOST_PATHS.credentials}/${name}-telegram-bot-token`,
    soul: `${HOST_PATHS.soul}/${name}.md`,
    /** The instance's socket-proxy listener (the proxy's policy puts it at <DOCKER_PROXY_SOCKETS>/<instance>/docker.sock). */
    dockerSocket: `${DOCKER_PROXY_SOCKETS}/${name}/docker.sock`,
    opRunWrapper: `${HOST_PATHS.sbin}/openclaw-op-run-${name}`,
  };
}

const sriHex = (integrity: string) => {
  const [algo, b64] = integrity.split("-", 2);
  if (algo !== "sha512" || !b64) throw new Error(`expected a sha512 SRI hash, got ${integrity}`);
  return Buffer.from(b64, "base64").toString("hex");
};

const header = (what: string) => `#!/usr/bin/env bash
# Rendered by openclaw-infra (components/openclawHost.ts): ${what}.
set -euo pipefail
export LC_ALL=C
umask 022
`;

/** Fetches an npm tarball and refuses it unless its sha512 matches the pin. */
const FETCH_VERIFIED = `
fetch_verified() { # package version sha512-hex output-file
  local name="\${1##*/}"
  curl -fsSL --proto '=https' --retry 3 -o "$4" "\${REGISTRY}/$1/-/\${name}-$2.tgz"
  if [[ "$(sha512sum "$4" | cut -d' ' -f1)" != "$3" ]]; then
    echo "refusing $1@$2: its sha512 does not match the pinned integrity" >&2
    exit 1
  fi
}
`;

/** Node and npm from pinned tarballs, each into its own versioned directory. */
export function renderRuntimeInstallScript(o: { registry: string }): string {
  const tools = [
    { pkg: HOST_NODE, dir: `${HOST_PATHS.opt}/node/${HOST_NODE.version}`, check: "bin/node" },
    { pkg: HOST_NPM, dir: `${HOST_PATHS.opt}/npm/${HOST_NPM.version}`, check: "bin/npm-cli.js" },
  ];
  return `${header(`Node ${HOST_NODE.version} and npm ${HOST_NPM.version} from integrity-checked tarballs`)}
readonly REGISTRY=${JSON.stringify(o.registry)}
${FETCH_VERIFIED}
changed=0
install_tool() { # package version sha512-hex dir check-file
  [[ -f "$4/$5" ]] && return 0
  local tmp
  tmp=$(mktemp -d)
  fetch_verified "$1" "$2" "$3" "\${tmp}/pkg.tgz"
  mkdir -p "\${tmp}/unpacked" "$(dirname "$4")"
  tar -xzf "\${tmp}/pkg.tgz" -C "\${tmp}/unpacked" --no-same-owner
  chown -R root:root "\${tmp}/unpacked/package"
  chmod -R go-w,a+rX "\${tmp}/unpacked/package"
  mv -T "\${tmp}/unpacked/package" "$4"
  rm -rf "\${tmp}"
  changed=1
}
${tools.map((t) => `install_tool ${t.pkg.package} ${t.pkg.version} ${sriHex(t.pkg.integrity)} ${t.dir} ${t.check}`).join("\n")}
"${HOST_PATHS.node}" --version >/dev/null
if (( changed )); then echo "runtime: changed"; else echo "runtime: unchanged"; fi
`;
}

/**
 * One OpenClaw release into /opt/openclaw/releases/<version>: installed by
 * npm into a temp dir, its tarball integrity compared with the pin (npm
 * checks every dependency against the registry's own hashes), made
 * root-owned and read-only, then moved into place. Never touches `current`.
 */
export function renderReleaseInstallScript(o: { registry: string; version: string }): string {
  const integrity = OPENCLAW_RELEASE_INTEGRITY[o.version];
  if (!integrity) throw new Error(`OpenClaw ${o.version} has no pinned integrity in infra/versions.ts`);
  if (!/^\d{4}\.\d+\.\d+$/.test(o.version)) throw new Error(`bad OpenClaw version ${o.version}`);
  const dir = `${HOST_PATHS.releases}/${o.version}`;
  return `${header(`OpenClaw ${o.version} into its own release directory`)}
readonly REGISTRY=${JSON.stringify(o.registry)}
readonly RELEASE_DIR=${dir}
if [[ -f "\${RELEASE_DIR}/.complete" ]]; then
  echo "release ${o.version}: unchanged"
  exit 0
fi
mkdir -p ${HOST_PATHS.releases}
tmp=$(mktemp -d ${HOST_PATHS.releases}/.install-${o.version}.XXXXXX)
trap 'rm -rf "\${tmp}"' EXIT
export HOME="\${tmp}/home" npm_config_cache=/var/cache/openclaw-npm
mkdir -p "\${HOME}"
"${HOST_PATHS.node}" "${HOST_PATHS.npmCli}" install --prefix "\${tmp}/release" --registry "\${REGISTRY}" \\
  --ignore-scripts --no-audit --no-fund --omit=dev --loglevel=error "openclaw@${o.version}"
got=$(jq -r '.packages["node_modules/openclaw"].integrity // empty' "\${tmp}/release/package-lock.json")
if [[ "\${got}" != ${JSON.stringify(integrity)} ]]; then
  echo "refusing openclaw@${o.version}: installed integrity \${got:-none} is not the pinned one" >&2
  exit 1
fi
# Run once as root: completes the package's lifecycle marker, which the read-only release could not write later.
"${HOST_PATHS.node}" "\${tmp}/release/node_modules/openclaw/openclaw.mjs" --version >/dev/null
chown -R root:root "\${tmp}/release"
chmod -R go-w,a+rX "\${tmp}/release"
touch "\${tmp}/release/.complete"
rm -rf "\${RELEASE_DIR}"
mv -T "\${tmp}/release" "\${RELEASE_DIR}"
# The first release becomes current, so the units can start; later ones wait for openclaw-use-release.
if [[ ! -e ${HOST_PATHS.current} ]]; then ln -sfn "\${RELEASE_DIR}" ${HOST_PATHS.current}; fi
echo "release ${o.version}: changed"
`;
}

/**
 * `openclaw-use-release VERSION`: points `current` at an installed release,
 * restarts every gateway and waits for each /startupz (not /healthz, which
 * answers as soon as the HTTP server listens, before startup has finished);
 * when one does not finish, puts the previous release and its state back and
 * fails. Also the rollback command (seed 004 §7).
 *
 * A symlink switch alone cannot roll back: OpenClaw migrates its databases at
 * start and refuses state whose schema a newer release wrote (2026.9.5 on
 * 2026.9.6's state: "schema 18; this build supports 17", seen on the test host).
 * So every switch first copies each instance's state, stopped, to
 * `stateByRelease/<the release being left>`, and a switch to an older release
 * restores the state that release left (what happened since stays saved under
 * the newer release's name; a switch forward migrates the older state again).
 */
export function renderUseReleaseScript(o: { instances: HostInstance[]; healthTimeoutSeconds: number }): string {
  const units = o.instances.map((i) => `${instancePaths(i.name).unit}.service`);
  const stateDirs = o.instances.map((i) => instancePaths(i.name).stateDir);
  const urls = o.instances.map((i) => `http://127.0.0.1:${i.port}/startupz`);
  return `${header("switch the active OpenClaw release, verify, revert on failure")}
readonly UNITS=(${units.join(" ")})
readonly STATE_DIRS=(${stateDirs.join(" ")})
readonly STARTED_URLS=(${urls.join(" ")})
readonly STATE_BY_RELEASE=${HOST_PATHS.stateByRelease}
version="\${1:?usage: openclaw-use-release VERSION}"
[[ "\${version}" =~ ^[0-9]{4}\\.[0-9]+\\.[0-9]+$ ]] || { echo "bad version \${version}" >&2; exit 2; }
target="${HOST_PATHS.releases}/\${version}"
[[ -f "\${target}/.complete" ]] || { echo "release \${version} is not installed (${HOST_PATHS.releases})" >&2; exit 1; }
previous=$(readlink ${HOST_PATHS.current} 2>/dev/null || true)
previous_version=\${previous##*/}

switch_to() {
  ln -sfn "$1" ${HOST_PATHS.current}.new
  mv -T ${HOST_PATHS.current}.new ${HOST_PATHS.current}
}

started() {
  local deadline=$((SECONDS + ${o.healthTimeoutSeconds})) url
  for url in "\${STARTED_URLS[@]}"; do
    until curl -fs -m 2 -o /dev/null "\${url}"; do
      (( SECONDS < deadline )) || return 1
      sleep 1
    done
  done
}

# A failed start spends the units' start budget (StartLimitBurst): clear it, or the revert's start is refused.
restart_units() {
  systemctl reset-failed "\${UNITS[@]}" 2>/dev/null || true
  systemctl restart "\${UNITS[@]}"
}

save_state() { # release: the gateways are stopped
  local dir="\${STATE_BY_RELEASE}/$1" i
  install -d -m 0700 "\${STATE_BY_RELEASE}"
  rm -rf "\${dir}.new"
  install -d -m 0700 "\${dir}.new"
  for i in "\${!UNITS[@]}"; do
    if [[ -d "\${STATE_DIRS[i]}" ]]; then cp -a "\${STATE_DIRS[i]}" "\${dir}.new/\${UNITS[i]}"; fi
  done
  rm -rf "\${dir}"
  mv -T "\${dir}.new" "\${dir}"
}

restore_state() { # release: the gateways are stopped
  local dir="\${STATE_BY_RELEASE}/$1" i
  for i in "\${!UNITS[@]}"; do
    rm -rf "\${STATE_DIRS[i]}"
    if [[ -d "\${dir}/\${UNITS[i]}" ]]; then cp -a "\${dir}/\${UNITS[i]}" "\${STATE_DIRS[i]}"; fi
  done
}

older() { # a b: whether release a is older than release b
  [[ "$1" != "$2" && "$(printf '%s\\n%s\\n' "$1" "$2" | sort -V | head -n 1)" == "$1" ]]
}

# Already current and running: nothing to switch, but a deploy only passes once every gateway has finished starting
# (the first release is made current by its install, so a first deploy's gateways are judged here).
if [[ "\${previous}" == "\${target}" ]] && systemctl is-active --quiet "\${UNITS[@]}"; then
  if started; then
    echo "release \${version}: unchanged"
    exit 0
  fi
  echo "release \${version}: current, but a gateway did not finish starting" >&2
  exit 1
fi
switching=false
if [[ -n "\${previous}" && "\${previous}" != "\${target}" ]]; then switching=true; fi
if \${switching}; then
  systemctl stop "\${UNITS[@]}"
  save_state "\${previous_version}"
  if older "\${version}" "\${previous_version}"; then
    if [[ -d "\${STATE_BY_RELEASE}/\${version}" ]]; then
      restore_state "\${version}"
      echo "state: as release \${version} left it; \${previous_version}'s is kept in \${STATE_BY_RELEASE}/\${previous_version}"
    else
      echo "state: none saved from release \${version}; it starts on \${previous_version}'s" >&2
    fi
  fi
fi
switch_to "\${target}"
restart_units
if started; then
  echo "release \${version}: active"
  exit 0
fi
echo "release \${version}: a gateway did not finish starting" >&2
if \${switching}; then
  systemctl stop "\${UNITS[@]}"
  restore_state "\${previous_version}"
  switch_to "\${previous}"
  restart_units
  if started; then
    echo "reverted to \${previous_version} and its state" >&2
  else
    echo "reverted to \${previous_version} and its state, but a gateway did not finish starting there either" >&2
  fi
fi
exit 1
`;
}

/** Users and directories: each instance a locked system user with no shell and no docker group. */
export function renderInstanceSetupScript(o: { instances: HostInstance[] }): string {
  const lines = o.instances.map((i) => {
    const p = instancePaths(i.name);
    return `setup_instance ${p.user} ${p.home} ${p.configDir}`;
  });
  return `${header("one locked system user per gateway instance, its directories, and the socket proxy user")}
changed=0
ensure_user() { # user home extra-groups
  if ! id -u "$1" >/dev/null 2>&1; then
    useradd --system --user-group --home-dir "$2" --no-create-home --shell /usr/sbin/nologin "$1"
    changed=1
  fi
  if [[ "$(getent passwd "$1" | cut -d: -f7)" != /usr/sbin/nologin ]]; then usermod --shell /usr/sbin/nologin "$1"; changed=1; fi
  if [[ "$(passwd -S "$1" | cut -d' ' -f2)" != L ]]; then passwd -q -l "$1" >/dev/null; changed=1; fi
}
ensure_dir() { # path owner mode
  if [[ ! -d "$1" ]]; then install -d -o "\${2%%:*}" -g "\${2##*:}" -m "$3" "$1"; changed=1; return; fi
  if [[ "$(stat -c %U:%G:%a "$1")" != "$2:\${3#0}" ]]; then chown "$2" "$1"; chmod "$3" "$1"; changed=1; fi
}
setup_instance() { # user home config-dir
  ensure_user "$1" "$2"
  # docker is root-equivalent: a gateway user is never in it (sandboxes go through its socket proxy).
  if id -nG "$1" | tr ' ' '\\n' | grep -qx docker; then gpasswd -d "$1" docker >/dev/null; changed=1; fi
  ensure_dir "$2" "$1:$1" 0700
  ensure_dir "$2/workspace" "$1:$1" 0700
  ensure_dir "$2/sandboxes" "$1:$1" 0700
  ensure_dir "$2/.openclaw" "$1:$1" 0700
  # Mount point of the read-only SOUL.md bind (the root-owned original is in ${HOST_PATHS.soul}).
  if [[ ! -e "$2/workspace/SOUL.md" ]]; then install -o root -g root -m 0444 /dev/null "$2/workspace/SOUL.md"; changed=1; fi
  ensure_dir "$3" "$1:$1" 0700
}
ensure_dir ${HOST_PATHS.etc} root:root 0755
ensure_dir ${HOST_PATHS.credentials} root:root 0700
ensure_dir ${HOST_PATHS.soul} root:root 0755
ensure_dir ${HOST_PATHS.dockerProxyPolicies} root:root 0755
if ! id -u ${DOCKER_PROXY_USER} >/dev/null 2>&1; then
  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin ${DOCKER_PROXY_USER}
  changed=1
fi
if getent group docker >/dev/null && ! id -nG ${DOCKER_PROXY_USER} | tr ' ' '\\n' | grep -qx docker; then
  usermod -aG docker ${DOCKER_PROXY_USER}; changed=1
fi
${lines.join("\n")}
if (( changed )); then echo "instances: changed"; else echo "instances: unchanged"; fi
`;
}

/**
 * The `op run` wrapper (seed 003 appendix B, approach A): reads the service
 * account token from the unit's credential, resolves op:// references into
 * the environment of the gateway only, and drops the service account token
 * before the gateway starts, so a compromised gateway cannot read the vault.
 */
/** What `op run` must reach through the egress proxy: 1Password's service. */
export const ONE_PASSWORD_DOMAINS = [".1password.com"] as const;

export function renderOpRunWrapper(o: { instance: string; opBinary: string; proxyUrl: string }): string {
  const p = instancePaths(o.instance);
  return `${header(`start gateway ${o.instance} with secrets resolved by 1Password op run`)}
token_file="\${CREDENTIALS_DIRECTORY:?run from the unit: needs LoadCredential}/op-service-account-token"
OP_SERVICE_ACCOUNT_TOKEN=$(<"\${token_file}")
export OP_SERVICE_ACCOUNT_TOKEN
# The unit reaches only localhost: op goes out through the loopback allowlist proxy.
export HTTPS_PROXY="${o.proxyUrl}"
exec ${o.opBinary} run --env-file=${p.opEnv} -- \\
  env -u OP_SERVICE_ACCOUNT_TOKEN -u HTTPS_PROXY "${HOST_PATHS.node}" "${HOST_PATHS.current}/node_modules/openclaw/openclaw.mjs" gateway run
`;
}

/** op:// references, not secrets: the vault item per instance holds the gateway token. */
export function renderOpEnv(o: { instance: string; vault: string }): string {
  return `OPENCLAW_GATEWAY_TOKEN=op://${o.vault}/openclaw-${o.instance}/gateway-token\n`;
}

export interface GatewayUnitOptions {
  instance: HostInstance;
  memoryMb: number;
  /** CPUQuota: 2 = two CPUs' worth of time. */
  cpus: number;
  tasksMax: number;
  /** Further credentials (name -> root-only file): model provider keys, the Telegram bot token. */
  credentials: Record<string, string>;
  /** When set, ExecStart is the `op run` wrapper. */
  onePassword?: { opBinary: string };
}

/** The unit's credentials (name -> the root-only file it is loaded from): the gateway token (or op's), then the rest. */
export function gatewayCredentials(o: Pick<GatewayUnitOptions, "instance" | "credentials" | "onePassword">): Record<string, string> {
  const p = instancePaths(o.instance.name);
  return { ...(o.onePassword ? { "op-service-account-token": p.opTokenFile } : { "gateway-token": p.tokenFile }), ...o.credentials };
}

/**
 * `openclaw-audit-config INSTANCE`: prints the path of a private copy of the
 * instance's openclaw.json for the root audit. The config names its secrets as
 * the unit sees them (/run/credentials/<unit>/<name>), files systemd gives the
 * service user; OpenClaw trusts a secret file only when the reading uid or root
 * owns it, so root's audit found no gateway auth there (`gateway.http.no_auth`,
 * seen on the test host). The copy names the root-owned files they are loaded from.
 */
export function renderAuditConfigScript(o: { instances: { instance: HostInstance; credentials: Record<string, string> }[] }): string {
  const cases = o.instances.map(({ instance, credentials }) => {
    const p = instancePaths(instance.name);
    const pairs = Object.entries(credentials).map(([name, source]) => `"${p.credential(name)}" "${source}"`);
    return `  ${instance.name}) config=${p.config}; pairs=(${pairs.join(" ")}) ;;`;
  });
  return `${header("a copy of an instance's openclaw.json that root can audit")}
case "\${1:-}" in
${cases.join("\n")}
  *) echo "usage: openclaw-audit-config INSTANCE" >&2; exit 2 ;;
esac
text=$(<"\${config}")
for ((i = 0; i < \${#pairs[@]}; i += 2)); do
  text=\${text//"\${pairs[i]}"/"\${pairs[i + 1]}"}
done
copy=$(mktemp --suffix=.json)
printf '%s\\n' "\${text}" >"\${copy}"
echo "\${copy}"
`;
}

/** The gateway unit: the daemon profile, no docker group, the token as a credential. */
export function gatewayUnitSpec(o: GatewayUnitOptions): ServiceUnitSpec {
  const p = instancePaths(o.instance.name);
  return {
    description: `OpenClaw gateway ${o.instance.name}`,
    execStart: o.onePassword ? [p.opRunWrapper] : [HOST_PATHS.node, `${HOST_PATHS.current}/node_modules/openclaw/openclaw.mjs`, "gateway", "run"],
    user: p.user,
    group: p.user,
    hardening: "daemon",
    // OpenClaw's fs-safe takes its state locks with openat2(RESOLVE_BENEATH) and has no fallback: under
    // RestrictSUIDSGID every first start refused ("... owns this state directory", exit 78; seen on the test
    // host). A set-id file it could still make is inert: NoNewPrivileges here and in the sandboxes, and only
    // its own user and root can enter its 0700 state directory.
    createsFilesWithOpenat2: true,
    environment: {
      HOME: p.home,
      OPENCLAW_CONFIG_PATH: p.config,
      OPENCLAW_STATE_DIR: p.stateDir,
      XDG_CACHE_HOME: `${p.stateDir}/cache`,
      NODE_ENV: "production",
      OPENCLAW_DISABLE_BONJOUR: "1",
      DOCKER_HOST: `unix://${p.dockerSocket}`,
    },
    workingDirectory: p.home,
    stateDirectory: p.user,
    loadCredentials: gatewayCredentials(o),
    bindReadOnlyPaths: [`${p.soul}:${p.workspace}/SOUL.md`],
    memoryMax: `${o.memoryMb}M`,
    cpuQuota: cpuQuota(o.cpus),
    tasksMax: o.tasksMax,
    after: ["network-online.target", `${p.proxyUnit}.service`],
    wants: ["network-online.target", `${p.proxyUnit}.service`],
    wantedBy: "multi-user.target",
  };
}

/** The instance's socket proxy: the one process that may use docker.sock, on a socket only the instance's group opens. */
export function dockerProxyUnitSpec(o: { instance: string; memoryMb: number; cpus: number }): ServiceUnitSpec {
  const p = instancePaths(o.instance);
  return {
    description: `OpenClaw Docker socket proxy for ${o.instance}`,
    execStart: [HOST_PATHS.node, HOST_PATHS.socketProxy, p.proxyPolicy],
    user: DOCKER_PROXY_USER,
    group: p.user,
    supplementaryGroups: ["docker"],
    hardening: "daemon",
    runtimeDirectory: { name: `${DOCKER_PROXY_SOCKETS.slice("/run/".length)}/${o.instance}`, mode: "0750" },
    umask: "0007",
    readWritePaths: ["/run/docker.sock"],
    memoryMax: `${o.memoryMb}M`,
    cpuQuota: cpuQuota(o.cpus),
    tasksMax: 64,
    wantedBy: "multi-user.target",
  };
}

export interface OpenclawHostArgs {
  host: Host;
  version: string;
  registry: string;
  instances: HostInstance[];
  /** Tailnet origins per instance (`https://<host>.<tailnet>:<port>`), for the Control UI. */
  origins: string[];
  /** The providers every instance may call and the agent's model choice (`<provider>/<model>`); each key is
   * written root-only and handed to each unit as the credential `<provider>-api-key`. */
  models: DirectModels<pulumi.Input<string>>;
  /** Telegram bot per instance name; instances without one have no channel. */
  telegram: Record<string, { botToken: pulumi.Input<string>; allowFrom: string[] }>;
  /** The loopback egress proxy: the units' only way out (HostEgressProxy.url). */
  egressProxyUrl: string;
  memoryMb: number;
  cpus: number;
  tasksMax: number;
  /** Limits of each instance's socket proxy unit. */
  socketProxy: { memoryMb: number; cpus: number };
  sandbox: { memoryMb: number; cpus: number; pidsLimit: number; maxConcurrent: number };
  soul?: string;
  /** Changing this value issues new gateway tokens. */
  tokenRotation: string;
  onePassword?: { vault: string; serviceAccountToken: pulumi.Input<string>; opBinary: string };
}

export class OpenclawHost extends pulumi.ComponentResource {
  /** Gateway token per instance (absent with op run: the vault holds them). */
  readonly tokens: Record<string, pulumi.Output<string>>;
  readonly configs: Record<string, string>;
  readonly souls: Record<string, string>;
  readonly units: string[];

  constructor(name: string, args: OpenclawHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openclaw:infra:OpenclawHost", name, {}, opts);
    const host = args.host;
    const placed = (key: string, path: string, content: string, mode = "0755") =>
      hostFile(`${name}-${key}`, host, { path, content, mode, owner: "root:root", secret: false }, { parent: this });
    const run = (key: string, script: string, dependsOn: pulumi.Resource[]) => new command.remote.Command(`${name}-${key}`, {
      connection: host.connection,
      create: asRoot(script),
      triggers: [createHash("sha256").update(script).digest("hex")],
    }, { parent: this, dependsOn });

    const setup = run("instances", renderInstanceSetupScript({ instances: args.instances }), []);
    const runtime = run("runtime", renderRuntimeInstallScript({ registry: args.registry }), []);
    const release = run(`release-${args.version}`, renderReleaseInstallScript({ registry: args.registry, version: args.version }), [runtime]);
    const useRelease = placed("use-release", `${HOST_PATHS.sbin}/openclaw-use-release`, renderUseReleaseScript({ instances: args.instances, healthTimeoutSeconds: 180 }));
    const proxyServer = placed("socket-proxy", HOST_PATHS.socketProxy, socketProxyServerSource(), "0444");
    // One root-only file per provider key, loaded by every gateway unit as the credential <id>-api-key.
    const providerKeys = args.models.providers.map((provider) => {
      const credentialName = providerKeyCredential(provider.id);
      const path = `${HOST_PATHS.credentials}/${credentialName}`;
      return {
        provider, credentialName, path,
        file: hostFile(`${name}-${credentialName}`, host, { path, content: provider.apiKey, mode: "0400", owner: "root:root", secret: true }, { parent: this, dependsOn: [setup] }),
      };
    });

    this.tokens = {};
    this.configs = {};
    this.souls = {};
    this.units = [];
    const unitsReady: pulumi.Resource[] = [];
    const auditable: { instance: HostInstance; credentials: Record<string, string> }[] = [];
    args.instances.forEach((instance, index) => {
      const p = instancePaths(instance.name);
      const files: pulumi.Resource[] = providerKeys.map((k) => k.file);
      const credentials: Record<string, string> = Object.fromEntries(providerKeys.map((k) => [k.credentialName, k.path]));
      const telegram = args.telegram[instance.name];
      if (telegram) {
        credentials["telegram-bot-token"] = p.telegramTokenFile;
        files.push(hostFile(`${name}-${instance.name}-telegram-token`, host, { path: p.telegramTokenFile, content: telegram.botToken, mode: "0400", owner: "root:root", secret: true }, { parent: this, dependsOn: [setup] }));
      }
      this.configs[instance.name] = renderOpenclawConfig({
        port: instance.port,
        exposure: { kind: "tailscale-serve" },
        allowedOrigins: [args.origins[index]!],
        gatewayTokenFile: args.onePassword ? undefined : p.tokenCredential,
        models: directModelFiles(args.models, (id) => p.credential(providerKeyCredential(id))),
        egressProxyUrl: args.egressProxyUrl,
        workspace: p.workspace,
        sandboxWorkspaceRoot: p.sandboxes,
        sandbox: args.sandbox,
        telegram: telegram && { tokenFile: p.credential("telegram-bot-token"), allowFrom: telegram.allowFrom },
      });
      files.push(hostFile(`${name}-${instance.name}-config`, host, { path: p.config, content: this.configs[instance.name]!, mode: "0600", owner: `${p.user}:${p.user}`, secret: false }, { parent: this, dependsOn: [setup] }));
      this.souls[instance.name] = renderSoul(args.soul);
      files.push(hostFile(`${name}-${instance.name}-soul`, host, { path: p.soul, content: this.souls[instance.name]!, mode: "0444", owner: "root:root", secret: false }, { parent: this, dependsOn: [setup] }));
      files.push(hostFile(`${name}-${instance.name}-docker-proxy-policy`, host, {
        path: p.proxyPolicy,
        // On the host no gateway container exists: the name below matches none (sandboxes must carry the sandbox prefix).
        content: renderSocketProxyPolicy({
          instances: [{ name: instance.name, gatewayContainer: p.user, sandboxRoot: p.sandboxes }],
          sandbox: args.sandbox, socketsDir: DOCKER_PROXY_SOCKETS, upstreamSocket: "/run/docker.sock",
        }),
        mode: "0444", owner: "root:root", secret: false,
      }, { parent: this, dependsOn: [setup] }));
      if (args.onePassword) {
        files.push(hostFile(`${name}-${instance.name}-op-env`, host, { path: p.opEnv, content: renderOpEnv({ instance: instance.name, vault: args.onePassword.vault }), mode: "0600", owner: `${p.user}:${p.user}`, secret: false }, { parent: this, dependsOn: [setup] }));
        files.push(hostFile(`${name}-${instance.name}-op-token`, host, { path: p.opTokenFile, content: args.onePassword.serviceAccountToken, mode: "0400", owner: "root:root", secret: true }, { parent: this, dependsOn: [setup] }));
        files.push(placed(`${instance.name}-op-run`, p.opRunWrapper, renderOpRunWrapper({ instance: instance.name, opBinary: args.onePassword.opBinary, proxyUrl: args.egressProxyUrl })));
      } else {
        const token = generatedSecret(`${name}-${instance.name}-token`, args.tokenRotation, this);
        this.tokens[instance.name] = token;
        files.push(hostFile(`${name}-${instance.name}-token`, host, { path: p.tokenFile, content: token, mode: "0400", owner: "root:root", secret: true }, { parent: this, dependsOn: [setup] }));
      }
      const proxyUnit = new SystemdUnit(`${name}-${instance.name}-docker-proxy`, { host, unitName: p.proxyUnit, service: dockerProxyUnitSpec({ instance: instance.name, ...args.socketProxy }) },
        { parent: this, dependsOn: [...files, proxyServer, runtime] });
      unitsReady.push(new SystemdUnit(`${name}-${instance.name}-gateway`, { host, unitName: p.unit, service: gatewayUnitSpec({ instance, memoryMb: args.memoryMb, cpus: args.cpus, tasksMax: args.tasksMax, credentials, onePassword: args.onePassword }) },
        { parent: this, dependsOn: [...files, proxyUnit, release] }));
      this.units.push(p.unit);
      auditable.push({ instance, credentials: gatewayCredentials({ instance, credentials, onePassword: args.onePassword }) });
    });
    placed("audit-config", HOST_PATHS.auditConfig, renderAuditConfigScript({ instances: auditable }), "0700");
    // Activates the pinned release (a no-op when it is already current and the gateways run).
    new command.remote.Command(`${name}-activate-${args.version}`, {
      connection: host.connection,
      create: asRoot(`${HOST_PATHS.sbin}/openclaw-use-release ${args.version}`),
    }, { parent: this, dependsOn: [release, useRelease, ...unitsReady] });
    this.registerOutputs({ units: this.units });
  }
}
