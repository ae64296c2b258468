/**
 * SystemdUnit: renders `.service` (and optional `.timer`) units from typed
 * args and installs them over SSH: files written atomically, daemon-reload,
 * enable, and a restart only when the unit's content changed. Values are
 * checked before rendering: a newline or an unescaped `%` in a value is
 * refused (unit-file injection, GHSA-vffc-f7r7-rx2w).
 */
import { createHash } from "node:crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { looksLikeSecretName } from "../infra/secrets";
import { hostFile } from "../infra/files";
import { asRoot, Host } from "../infra/hosts";

/** Directives that hold for any service: no privilege gain, a read-only OS, private /tmp and devices. */
const BASELINE_HARDENING: [string, string][] = [
  ["NoNewPrivileges", "yes"],
  ["ProtectSystem", "strict"],
  ["ProtectHome", "yes"],
  ["PrivateTmp", "yes"],
  ["PrivateDevices", "yes"],
  ["DevicePolicy", "closed"],
  ["ProtectKernelTunables", "yes"],
  ["ProtectKernelModules", "yes"],
  ["ProtectKernelLogs", "yes"],
  ["ProtectControlGroups", "yes"],
  ["ProtectClock", "yes"],
  ["ProtectHostname", "yes"],
  ["RestrictRealtime", "yes"],
  ["RestrictSUIDSGID", "yes"],
  ["LockPersonality", "yes"],
  ["SystemCallArchitectures", "native"],
  ["UMask", "0077"],
];

/**
 * A root task (backup, audit, watchdog): root for file access, but only the
 * capabilities to read and restore files, no new namespaces, no exotic
 * sockets or syscalls.
 */
const ROOT_TASK_HARDENING: [string, string][] = [
  ...BASELINE_HARDENING,
  ["CapabilityBoundingSet", "CAP_DAC_READ_SEARCH CAP_DAC_OVERRIDE CAP_CHOWN CAP_FOWNER"],
  ["ProtectProc", "invisible"],
  ["RestrictNamespaces", "yes"],
  ["RemoveIPC", "yes"],
  ["KeyringMode", "private"],
  ["RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"],
  ["SystemCallFilter", "@system-service"],
  ["SystemCallErrorNumber", "EPERM"],
];

/**
 * The full profile for an unprivileged daemon such as the Node gateway: no
 * capabilities, only its own processes visible, syscalls of a normal
 * service, IP only to localhost (egress through local proxies). Leaves out
 * what breaks Node: MemoryDenyWriteExecute (V8 JIT), PrivateNetwork.
 */
const DAEMON_HARDENING: [string, string][] = [
  ...BASELINE_HARDENING,
  ["CapabilityBoundingSet", ""],
  ["AmbientCapabilities", ""],
  ["PrivateUsers", "yes"],
  ["ProtectProc", "invisible"],
  ["ProcSubset", "pid"],
  ["RestrictNamespaces", "yes"],
  ["RemoveIPC", "yes"],
  ["KeyringMode", "private"],
  ["PrivateMounts", "yes"],
  ["RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"],
  ["SystemCallFilter", "@system-service"],
  ["SystemCallFilter", "~@privileged @resources @mount @swap @reboot @raw-io @module @obsolete @debug @cpu-emulation @clock"],
  ["SystemCallErrorNumber", "EPERM"],
  ["IPAddressDeny", "any"],
  ["IPAddressAllow", "localhost"],
];

export interface ServiceUnitSpec {
  description: string;
  /** The command and its arguments; each is quoted for systemd. */
  execStart: string[];
  type?: "simple" | "exec" | "oneshot";
  user?: string;
  group?: string;
  /** `daemon`: the full unprivileged profile; `root-task`: a root oneshot (backups, audits) with the baseline profile. */
  hardening: "daemon" | "root-task";
  /**
   * The service creates files with openat2(2), so its profile goes without RestrictSUIDSGID: systemd cannot
   * filter the mode inside openat2's struct and answers every openat2 with ENOSYS there. Default false.
   */
  createsFilesWithOpenat2?: boolean;
  environment?: Record<string, string>;
  /** Files whose lines become environment: for secrets, never in the unit itself. */
  environmentFiles?: string[];
  workingDirectory?: string;
  stateDirectory?: string;
  readWritePaths?: string[];
  readOnlyPaths?: string[];
  /** `source:destination` read-only bind mounts (a root-owned file shown inside a writable dir). */
  bindReadOnlyPaths?: string[];
  /** Credential name -> root-only file; the service reads it from $CREDENTIALS_DIRECTORY, the file stays root:root 0400. */
  loadCredentials?: Record<string, string>;
  supplementaryGroups?: string[];
  /** A /run directory owned by the unit's user and group, with its mode. */
  runtimeDirectory?: { name: string; mode: string };
  /** Overrides the profile's UMask=0077 (e.g. a socket the group must reach). */
  umask?: string;
  /** IP addresses the unit may reach beyond localhost (e.g. a backup target). */
  ipAddressAllow?: string[];
  memoryMax?: string;
  /** CPUQuota, e.g. "50%" (see cpuQuota()). */
  cpuQuota?: string;
  tasksMax?: number;
  restart?: "on-failure" | "no";
  after?: string[];
  wants?: string[];
  /** `multi-user.target` for daemons; timers install the timer instead. */
  wantedBy?: string;
}

export interface TimerSpec {
  description: string;
  onCalendar: string;
  randomizedDelaySec?: number;
}

/** A CPU limit in CPUs as systemd's CPUQuota: 0.25 -> "25%", 2 -> "200%". */
export function cpuQuota(cpus: number): string {
  return `${Math.round(cpus * 100)}%`;
}

/** Settings systemd parses without specifier expansion, whose values end in a literal "%" ("%%" would be refused). */
const LITERAL_PERCENT_KEYS = new Set(["Service.CPUQuota"]);

function checkValue(where: string, value: string): void {
  if (/[\n\r\0]/.test(value)) throw new Error(`systemd unit: ${where} contains a line break or NUL`);
  if (LITERAL_PERCENT_KEYS.has(where)) {
    if (!/^\d+%$/.test(value)) throw new Error(`systemd unit: ${where} expects a percentage such as 50%, got ${value}`);
    return;
  }
  if (/%(?!%)/.test(value.replace(/%%/g, ""))) throw new Error(`systemd unit: ${where} contains an unescaped % specifier`);
}

/** Quotes one argument for ExecStart (systemd's own quoting rules). */
export function quoteArg(arg: string): string {
  checkValue("ExecStart", arg);
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `"${arg.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\$/g, "$$$$")}"`;
}

export function renderServiceUnit(spec: ServiceUnitSpec): string {
  const unit: [string, string][] = [["Description", spec.description]];
  if (spec.after?.length) unit.push(["After", spec.after.join(" ")]);
  if (spec.wants?.length) unit.push(["Wants", spec.wants.join(" ")]);
  unit.push(["StartLimitIntervalSec", "300"], ["StartLimitBurst", "5"]);

  const service: [string, string][] = [["Type", spec.type ?? "exec"]];
  if (spec.user) service.push(["User", spec.user]);
  if (spec.group) service.push(["Group", spec.group]);
  if (spec.workingDirectory) service.push(["WorkingDirectory", spec.workingDirectory]);
  for (const [key, value] of Object.entries(spec.environment ?? {})) {
    if (!/^[A-Z_][A-Z0-9_]*$/.test(key)) throw new Error(`systemd unit: bad environment name ${key}`);
    if (looksLikeSecretName(key)) throw new Error(`systemd unit: ${key} looks like a secret; use an EnvironmentFile`);
    service.push(["Environment", quoteArg(`${key}=${value}`)]);
  }
  for (const file of spec.environmentFiles ?? []) service.push(["EnvironmentFile", file]);
  service.push(["ExecStart", spec.execStart.map(quoteArg).join(" ")]);
  if (spec.restart !== "no" && spec.type !== "oneshot") service.push(["Restart", spec.restart ?? "on-failure"], ["RestartSec", "10"]);
  if (spec.stateDirectory) service.push(["StateDirectory", spec.stateDirectory], ["StateDirectoryMode", "0700"]);
  if (spec.readWritePaths?.length) service.push(["ReadWritePaths", spec.readWritePaths.join(" ")]);
  if (spec.readOnlyPaths?.length) service.push(["ReadOnlyPaths", spec.readOnlyPaths.join(" ")]);
  if (spec.bindReadOnlyPaths?.length) service.push(["BindReadOnlyPaths", spec.bindReadOnlyPaths.join(" ")]);
  for (const [credential, file] of Object.entries(spec.loadCredentials ?? {})) {
    if (!/^[a-z][a-z0-9-]*$/.test(credential)) throw new Error(`systemd unit: bad credential name ${credential}`);
    service.push(["LoadCredential", `${credential}:${file}`]);
  }
  if (spec.supplementaryGroups?.length) service.push(["SupplementaryGroups", spec.supplementaryGroups.join(" ")]);
  if (spec.runtimeDirectory) service.push(["RuntimeDirectory", spec.runtimeDirectory.name], ["RuntimeDirectoryMode", spec.runtimeDirectory.mode]);
  const profile = (spec.hardening === "daemon" ? DAEMON_HARDENING : ROOT_TASK_HARDENING)
    .filter(([key]) => !(spec.createsFilesWithOpenat2 && key === "RestrictSUIDSGID"));
  service.push(...(spec.umask ? profile.map(([k, v]): [string, string] => [k, k === "UMask" ? spec.umask! : v]) : profile));
  if (spec.ipAddressAllow?.length) service.push(["IPAddressAllow", spec.ipAddressAllow.join(" ")]);
  if (spec.memoryMax) service.push(["MemoryMax", spec.memoryMax]);
  if (spec.cpuQuota) service.push(["CPUQuota", spec.cpuQuota]);
  if (spec.tasksMax) service.push(["TasksMax", String(spec.tasksMax)]);

  const sections: [string, [string, string][]][] = [["Unit", unit], ["Service", service]];
  if (spec.wantedBy) sections.push(["Install", [["WantedBy", spec.wantedBy]]]);
  return renderSections(sections);
}

export function renderTimerUnit(spec: TimerSpec): string {
  const timer: [string, string][] = [["OnCalendar", spec.onCalendar], ["Persistent", "true"]];
  if (spec.randomizedDelaySec) timer.push(["RandomizedDelaySec", String(spec.randomizedDelaySec)]);
  return renderSections([["Unit", [["Description", spec.description]]], ["Timer", timer], ["Install", [["WantedBy", "timers.target"]]]]);
}

function renderSections(sections: [string, [string, string][]][]): string {
  const out = ["# Rendered by openclaw-infra (components/systemdUnit.ts). Do not edit on the host."];
  for (const [name, entries] of sections) {
    out.push(`[${name}]`);
    for (const [key, value] of entries) {
      checkValue(`${name}.${key}`, value);
      out.push(`${key}=${value}`);
    }
    out.push("");
  }
  return out.join("\n");
}

export interface SystemdUnitArgs {
  host: Host;
  /** Unit name without suffix, e.g. `openclaw-backup`. */
  unitName: string;
  service: ServiceUnitSpec;
  timer?: TimerSpec;
}

export class SystemdUnit extends pulumi.ComponentResource {
  readonly serviceText: string;
  readonly timerText?: string;

  constructor(name: string, args: SystemdUnitArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openclaw:infra:SystemdUnit", name, {}, opts);
    if (!/^[a-z][a-z0-9-]*$/.test(args.unitName)) throw new Error(`systemd unit name ${args.unitName} is not allowed`);
    this.serviceText = renderServiceUnit(args.service);
    this.timerText = args.timer ? renderTimerUnit(args.timer) : undefined;
    const files = [hostFile(`${name}-service`, args.host, { path: `/etc/systemd/system/${args.unitName}.service`, content: this.serviceText, mode: "0644", owner: "root:root", secret: false }, { parent: this })];
    if (this.timerText) {
      files.push(hostFile(`${name}-timer`, args.host, { path: `/etc/systemd/system/${args.unitName}.timer`, content: this.timerText, mode: "0644", owner: "root:root", secret: false }, { parent: this }));
    }
    const active = this.timerText ? `${args.unitName}.timer` : `${args.unitName}.service`;
    const contentHash = createHash("sha256").update(this.serviceText + (this.timerText ?? "")).digest("hex");
    new command.remote.Command(`${name}-enable`, {
      connection: args.host.connection,
      // Runs again only when the units' content changes (triggers): reload, enable, restart.
      create: asRoot(`set -eu; systemctl daemon-reload; systemctl enable ${active}; systemctl restart ${active}; echo "restarted ${active}"`),
      delete: asRoot(`systemctl disable --now ${active} || true`),
      triggers: [contentHash],
    }, { parent: this, dependsOn: files });
    this.registerOutputs({});
  }
}
