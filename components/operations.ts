/**
 * Operations: the seed's cron scripts as scripts + systemd timers on the
 * host — encrypted restic backups (refusing an empty or missing source),
 * backup verification, a watchdog with a pluggable alert, a weekly OpenClaw
 * security audit, and a token-age reminder (tokens rotate through Pulumi).
 */
import { createHash } from "node:crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { generatedSecret } from "../infra/secrets";
import { hostFile } from "../infra/files";
import { asRoot, Host } from "../infra/hosts";
import { PLAIN_ABSOLUTE_PATH } from "../infra/rules";
import { SystemdUnit } from "./systemdUnit";

const SCRIPT_DIR = "/usr/local/sbin";
const CONFIG_DIR = "/etc/openclaw/ops";

export interface BackupOptions {
  repository: string;
  passwordFile: string;
  /** Directories backed up; each must exist and hold at least one file. */
  sources: string[];
  keepDaily: number;
  /**
   * Swarm services whose task must run on this node for a backup to be taken
   * (swarm topology): a former trusted node that comes back with stale state
   * and its old timer never writes a snapshot newer than the real one.
   */
  onlyWhereRunning?: string[];
}

const header = (what: string) => `#!/usr/bin/env bash
# Rendered by openclaw-infra (components/operations.ts): ${what}.
set -euo pipefail
export LC_ALL=C
`;

const quoted = (values: string[]) => values.map((v) => {
  if (!PLAIN_ABSOLUTE_PATH.test(v)) throw new Error(`operations: ${v} is not a plain absolute path`);
  return `"${v}"`;
}).join(" ");

/** A container by name, or the running task of the Swarm service of that name (swarm topology). */
const CONTAINER_OF = `
container_of() {
  local id
  id=$(docker ps -q --filter "label=com.docker.swarm.service.name=$1" | head -n 1)
  echo "\${id:-$1}"
}
`;

/** The alert function every script shares: webhook when configured, journal always. */
const ALERT = `
alert() {
  logger -t openclaw-ops -p user.warning -- "$1" 2>/dev/null || true
  echo "ALERT: $1" >&2
  if [[ -n "\${ALERT_WEBHOOK_URL:-}" ]]; then
    curl -fsS -m 10 -H 'Content-Type: application/json' \\
      --data "$(jq -cn --arg text "$1" --arg host "$(hostname)" '{text: $text, host: $host}')" \\
      "\${ALERT_WEBHOOK_URL}" >/dev/null || echo "alert webhook failed" >&2
  fi
}
`;

export function renderBackupScript(o: BackupOptions): string {
  return `${header("encrypted, authenticated backups with restic")}
export RESTIC_REPOSITORY=${quoted([o.repository])}
export RESTIC_PASSWORD_FILE=${quoted([o.passwordFile])}
readonly SOURCES=(${quoted(o.sources)})
${ALERT}${(o.onlyWhereRunning ?? []).map((svc) => {
    if (!/^[a-z][a-z0-9-]*$/.test(svc)) throw new Error(`backup: bad service name ${svc}`);
    return `
if [[ -z "$(docker ps -q --filter "label=com.docker.swarm.service.name=${svc}")" ]]; then
  echo "backup skipped: ${svc} does not run on this node (not the trusted node)"
  exit 0
fi`;
  }).join("")}
# An outage must never produce an empty snapshot that retention then keeps.
for source in "\${SOURCES[@]}"; do
  if [[ ! -d "\${source}" ]] || [[ -z "$(find "\${source}" -mindepth 1 -print -quit)" ]]; then
    alert "backup refused: \${source} is missing or empty"
    exit 1
  fi
done
if ! restic cat config >/dev/null 2>&1; then
  restic init
fi
started=$(date +%s)
restic backup --quiet --tag openclaw "\${SOURCES[@]}"
restic forget --quiet --tag openclaw --keep-daily ${o.keepDaily} --prune
echo "backup: done in $(( $(date +%s) - started ))s"
`;
}

export function renderBackupVerifyScript(o: Pick<BackupOptions, "repository" | "passwordFile"> & { maxAgeHours: number }): string {
  return `${header("verify the backup repository and the latest snapshot's age")}
export RESTIC_REPOSITORY=${quoted([o.repository])}
export RESTIC_PASSWORD_FILE=${quoted([o.passwordFile])}
${ALERT}
if ! restic check --read-data >/dev/null 2>&1; then
  alert "backup verification failed: restic check --read-data reported errors"
  exit 1
fi
latest=$(restic snapshots --json --latest 1 | jq -r 'map(.time) | max // empty')
if [[ -z "\${latest}" ]]; then
  alert "backup verification failed: no snapshot"
  exit 1
fi
age_hours=$(( ($(date +%s) - $(date -d "\${latest}" +%s)) / 3600 ))
if (( age_hours > ${o.maxAgeHours} )); then
  alert "backup verification: latest snapshot is \${age_hours}h old"
  exit 1
fi
echo "backup verification: ok, latest snapshot \${age_hours}h old"
`;
}

export interface WatchdogOptions {
  containers: string[];
  /** systemd services watched like containers (host installs): active, and restarts since they started. */
  units?: string[];
  restartThreshold: number;
  diskPercent: number;
  memoryPercent: number;
  swapPercent: number;
}

export function renderWatchdogScript(o: WatchdogOptions): string {
  for (const c of [...o.containers, ...(o.units ?? [])]) if (!/^[a-z][a-z0-9-]*$/.test(c)) throw new Error(`watchdog: bad container or unit name ${c}`);
  return `${header("container and unit health, restart loops, OOM kills, disk, memory and swap")}
readonly CONTAINERS=(${o.containers.join(" ")})
readonly UNITS=(${(o.units ?? []).join(" ")})
${ALERT}${CONTAINER_OF}
problems=0
for unit in "\${UNITS[@]}"; do
  active=$(systemctl show -p ActiveState --value "\${unit}.service")
  restarts=$(systemctl show -p NRestarts --value "\${unit}.service")
  result=$(systemctl show -p Result --value "\${unit}.service")
  [[ "\${active}" == "active" ]] || { alert "\${unit}: \${active:-not found}"; problems=$((problems + 1)); }
  (( \${restarts:-0} <= ${o.restartThreshold} )) || { alert "\${unit}: restarted \${restarts} times"; problems=$((problems + 1)); }
  [[ "\${result}" != "oom-kill" ]] || { alert "\${unit}: OOM-killed"; problems=$((problems + 1)); }
done
for ctr in "\${CONTAINERS[@]}"; do
  if ! state=$(docker inspect --format '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.RestartCount}} {{.State.OOMKilled}}' "$(container_of "\${ctr}")" 2>/dev/null); then
    alert "\${ctr}: container not found"; problems=$((problems + 1)); continue
  fi
  read -r status health restarts oom <<<"\${state}"
  [[ "\${status}" == "running" ]] || { alert "\${ctr}: status \${status}"; problems=$((problems + 1)); }
  [[ "\${health}" != "unhealthy" ]] || { alert "\${ctr}: unhealthy"; problems=$((problems + 1)); }
  (( restarts <= ${o.restartThreshold} )) || { alert "\${ctr}: restarted \${restarts} times"; problems=$((problems + 1)); }
  [[ "\${oom}" != "true" ]] || { alert "\${ctr}: OOM-killed"; problems=$((problems + 1)); }
done
disk=$(df --output=pcent / | tail -1 | tr -dc '0-9')
(( disk <= ${o.diskPercent} )) || { alert "disk usage \${disk}%"; problems=$((problems + 1)); }
read -r mem_total mem_avail swap_total swap_free < <(awk '/^MemTotal:/{t=$2} /^MemAvailable:/{a=$2} /^SwapTotal:/{st=$2} /^SwapFree:/{sf=$2} END{print t, a, st, sf}' /proc/meminfo)
mem_used=$(( (mem_total - mem_avail) * 100 / mem_total ))
(( mem_used <= ${o.memoryPercent} )) || { alert "memory usage \${mem_used}%"; problems=$((problems + 1)); }
if (( swap_total > 0 )); then
  swap_used=$(( (swap_total - swap_free) * 100 / swap_total ))
  (( swap_used <= ${o.swapPercent} )) || { alert "swap usage \${swap_used}%"; problems=$((problems + 1)); }
fi
echo "watchdog: \${problems} problem(s)"
(( problems == 0 ))
`;
}

/** How the audit reaches a gateway's CLI: `docker exec` into its container, or a command run on the host with `$gw` set. */
export type AuditRunner = { kind: "docker" } | { kind: "host"; openclaw: string };

export function renderAuditScript(o: { gateways: string[]; runner?: AuditRunner }): string {
  const runner = o.runner ?? { kind: "docker" };
  const audit = runner.kind === "docker" ? `docker exec "$(container_of "\${gw}")" openclaw security audit --json` : `${runner.openclaw} security audit --json`;
  return `${header("OpenClaw security audit of every gateway")}
readonly GATEWAYS=(${o.gateways.join(" ")})
${ALERT}${runner.kind === "docker" ? CONTAINER_OF : ""}
failed=0
for gw in "\${GATEWAYS[@]}"; do
  if ! report=$(${audit} 2>/dev/null); then
    alert "\${gw}: security audit did not run"; failed=1; continue
  fi
  read -r critical warn < <(jq -r '"\\(.summary.critical) \\(.summary.warn)"' <<<"\${report}")
  if (( critical > 0 || warn > 0 )); then
    alert "\${gw}: security audit found \${critical} critical, \${warn} warn: $(jq -r '[.findings[] | select(.severity != "info") | .checkId] | join(", ")' <<<"\${report}")"
    failed=1
  else
    echo "\${gw}: audit clean"
  fi
done
exit "\${failed}"
`;
}

export function renderTokenAgeScript(o: { tokenFiles: string[]; maxAgeDays: number }): string {
  return `${header("remind to rotate tokens (rotation itself runs through Pulumi keepers)")}
readonly TOKEN_FILES=(${quoted(o.tokenFiles)})
${ALERT}
for file in "\${TOKEN_FILES[@]}"; do
  age_days=$(( ($(date +%s) - $(stat -c %Y "\${file}")) / 86400 ))
  if (( age_days > ${o.maxAgeDays} )); then
    alert "\${file} is \${age_days} days old: rotate it (pulumi config set openclaw:rotation.gatewayToken <new value>; pulumi up)"
  fi
done
`;
}

/** Every URL must answer 2xx within 5 s (gateway /healthz on loopback). */
export function renderHealthScript(o: { urls: string[] }): string {
  for (const url of o.urls) if (!/^http:\/\/127\.0\.0\.1:\d+\/[a-z]+$/.test(url)) throw new Error(`health: ${url} is not a loopback URL`);
  return `${header("gateway health on loopback")}
readonly URLS=(${o.urls.join(" ")})
${ALERT}
failed=0
for url in "\${URLS[@]}"; do
  if ! curl -fsS -m 5 -o /dev/null "\${url}"; then alert "health check failed: \${url}"; failed=1; fi
done
(( failed == 0 )) && echo "health: ok (\${#URLS[@]} gateway(s))"
exit "\${failed}"
`;
}

/** Alerts when a file differs from the content Pulumi placed (SOUL.md: the agent's rules). */
export function renderIntegrityScript(o: { files: { path: string; sha256: string }[] }): string {
  for (const f of o.files) if (!/^[0-9a-f]{64}$/.test(f.sha256)) throw new Error(`integrity: bad sha256 for ${f.path}`);
  return `${header("integrity of files the agent must never change")}
${ALERT}
failed=0
while read -r want path; do
  have=$(sha256sum "\${path}" 2>/dev/null | cut -d' ' -f1 || true)
  if [[ "\${have}" != "\${want}" ]]; then alert "integrity: \${path} changed or missing"; failed=1; fi
done <<'EXPECTED'
${o.files.map((f) => `${f.sha256} ${quoted([f.path]).slice(1, -1)}`).join("\n")}
EXPECTED
(( failed == 0 )) && echo "integrity: ok"
exit "\${failed}"
`;
}

export interface OperationsArgs {
  host: Host;
  backup: Omit<BackupOptions, "passwordFile"> & { onCalendar: string };
  watchdog: WatchdogOptions;
  gateways: string[];
  /** How the audit runs the gateways' CLI (default: docker exec). */
  auditRunner?: AuditRunner;
  /** Loopback /healthz URLs checked every minute (host installs). */
  healthUrls?: string[];
  /** Files checked against their placed content (SOUL.md). */
  integrityFiles?: { path: string; content: string }[];
  /** onCalendar overrides per timer (e.g. the audit every 6 h on a host install). */
  schedules?: Partial<Record<string, string>>;
  tokenFiles: string[];
  alertWebhookUrl?: pulumi.Input<string>;
  /** Changing this value issues a new backup password (old snapshots keep the old one: see docs). */
  backupPasswordRotation: string;
}

export class Operations extends pulumi.ComponentResource {
  readonly backupPassword: pulumi.Output<string>;
  /** Where the restic password lives on the host (StateRestore reads it too). */
  readonly passwordFile: string;
  readonly scripts: Record<string, string>;

  constructor(name: string, args: OperationsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openclaw:infra:Operations", name, {}, opts);
    this.backupPassword = generatedSecret(`${name}-backup-password`, args.backupPasswordRotation, this);
    const passwordFile = `${CONFIG_DIR}/restic-password`;
    this.passwordFile = passwordFile;
    const alertEnv = `${CONFIG_DIR}/alert.env`;
    hostFile(`${name}-backup-password`, args.host, { path: passwordFile, content: this.backupPassword, mode: "0400", owner: "root:root", secret: true }, { parent: this });
    hostFile(`${name}-alert-env`, args.host, {
      path: alertEnv,
      content: args.alertWebhookUrl ? pulumi.secret(pulumi.interpolate`ALERT_WEBHOOK_URL=${args.alertWebhookUrl}\n`) : "# no alert webhook configured: alerts go to the journal\n",
      mode: "0400", owner: "root:root", secret: args.alertWebhookUrl !== undefined,
    }, { parent: this });

    // The backup units may write only the repository (ReadWritePaths); systemd refuses to start a unit whose
    // ReadWritePaths does not exist (226/NAMESPACE, seen on a real VPS), and restic init cannot create it under
    // ProtectSystem=strict: the directory exists, root-only, before any unit does.
    const repositoryDir = new command.remote.Command(`${name}-backup-repository`, {
      connection: args.host.connection,
      create: asRoot(`install -d -m 0700 -o root -g root ${quoted([args.backup.repository])}`),
      triggers: [args.backup.repository],
    }, { parent: this });

    this.scripts = {
      "openclaw-backup": renderBackupScript({ ...args.backup, passwordFile }),
      "openclaw-backup-verify": renderBackupVerifyScript({ repository: args.backup.repository, passwordFile, maxAgeHours: 36 }),
      "openclaw-watchdog": renderWatchdogScript(args.watchdog),
      "openclaw-audit": renderAuditScript({ gateways: args.gateways, runner: args.auditRunner }),
      "openclaw-token-age": renderTokenAgeScript({ tokenFiles: args.tokenFiles, maxAgeDays: 90 }),
    };
    if (args.healthUrls?.length) this.scripts["openclaw-health"] = renderHealthScript({ urls: args.healthUrls });
    if (args.integrityFiles?.length) {
      this.scripts["openclaw-integrity"] = renderIntegrityScript({ files: args.integrityFiles.map((f) => ({ path: f.path, sha256: createHash("sha256").update(f.content).digest("hex") })) });
    }
    const schedule: Record<string, { onCalendar: string; description: string; readWrite: string[] }> = {
      "openclaw-backup": { onCalendar: args.backup.onCalendar, description: "OpenClaw encrypted backup", readWrite: [args.backup.repository] },
      "openclaw-backup-verify": { onCalendar: "Sun *-*-* 04:30:00", description: "OpenClaw backup verification", readWrite: [args.backup.repository] },
      "openclaw-watchdog": { onCalendar: "*:0/5", description: "OpenClaw watchdog", readWrite: [] },
      "openclaw-audit": { onCalendar: "Mon *-*-* 06:00:00", description: "OpenClaw weekly security audit", readWrite: [] },
      "openclaw-token-age": { onCalendar: "daily", description: "OpenClaw token age reminder", readWrite: [] },
      "openclaw-health": { onCalendar: "*:*:00", description: "OpenClaw gateway health", readWrite: [] },
      "openclaw-integrity": { onCalendar: "*:0/15", description: "OpenClaw SOUL.md integrity", readWrite: [] },
    };
    for (const [unit, onCalendar] of Object.entries(args.schedules ?? {})) {
      if (!schedule[unit] || onCalendar === undefined) throw new Error(`operations: no timer ${unit} to reschedule`);
      schedule[unit]!.onCalendar = onCalendar;
    }
    for (const [unit, script] of Object.entries(this.scripts)) {
      const path = `${SCRIPT_DIR}/${unit}`;
      const file = hostFile(`${name}-${unit}-script`, args.host, { path, content: script, mode: "0700", owner: "root:root", secret: false }, { parent: this });
      const when = schedule[unit]!;
      new SystemdUnit(`${name}-${unit}`, {
        host: args.host,
        unitName: unit,
        service: { description: when.description, type: "oneshot", execStart: [path], hardening: "root-task", environmentFiles: [alertEnv], readWritePaths: when.readWrite },
        timer: { description: when.description, onCalendar: when.onCalendar, randomizedDelaySec: unit === "openclaw-health" ? undefined : unit === "openclaw-watchdog" || unit === "openclaw-integrity" ? 30 : 600 },
      }, { parent: this, dependsOn: when.readWrite.length > 0 ? [file, repositoryDir] : [file] });
    }
    this.registerOutputs({ backupPassword: this.backupPassword });
  }
}
