/**
 * HostBaseline: what every host gets before any workload — packages, SSH
 * hardening, Docker's daemon.json, the seed's sysctl settings, unattended
 * security upgrades and fail2ban. Each file is placed over SSH; a change to
 * one re-runs only its own activation (sshd is tested with `sshd -t` before
 * it is reloaded, so a bad config never cuts the admin off).
 */
import { createHash } from "node:crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { hostFile } from "../infra/files";
import { asRoot, Host } from "../infra/hosts";
import { UNIX_USER } from "../infra/rules";
import { LOG_OPTIONS } from "../infra/workload";

export const BASELINE_PACKAGES = ["ufw", "fail2ban", "unattended-upgrades", "apt-listchanges", "restic", "docker.io", "jq"];

/** Installs the Debian packages that are missing (only then touching apt); prints what it did, so a re-run reads "unchanged". */
export function renderPackagesScript(packages: readonly string[]): string {
  return `set -eu; export DEBIAN_FRONTEND=noninteractive; missing=""; for p in ${packages.join(" ")}; do dpkg-query -W -f='\${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"; done; if [ -n "$missing" ]; then apt-get update -qq; apt-get install -y -qq $missing; echo "installed:$missing"; else echo "packages unchanged"; fi`;
}

export interface SshdOptions {
  port: number;
  allowUsers: string[];
}

export function renderSshdConfig(o: SshdOptions): string {
  for (const user of o.allowUsers) {
    if (!UNIX_USER.test(user)) throw new Error(`sshd: ${user} is not a user name`);
  }
  if (o.allowUsers.length === 0) throw new Error("sshd: AllowUsers is empty: nobody could log in");
  return [
    "# Rendered by openclaw-infra (components/hostBaseline.ts). Do not edit on the host.",
    `Port ${o.port}`,
    "AddressFamily any",
    "HostKey /etc/ssh/ssh_host_ed25519_key",
    "PermitRootLogin no",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "PubkeyAuthentication yes",
    "AuthenticationMethods publickey",
    "PermitEmptyPasswords no",
    `AllowUsers ${o.allowUsers.join(" ")}`,
    "MaxAuthTries 3",
    "LoginGraceTime 30",
    "MaxStartups 10:30:60",
    "X11Forwarding no",
    "AllowAgentForwarding no",
    "AllowTcpForwarding no",
    "PermitTunnel no",
    "PermitUserEnvironment no",
    "ClientAliveInterval 300",
    "ClientAliveCountMax 2",
    "UsePAM yes",
    "PrintMotd no",
    "AcceptEnv LANG LC_*",
    "Subsystem sftp internal-sftp",
    "",
  ].join("\n");
}

/** daemon.json: `live-restore` only outside swarm mode, where Docker refuses it. */
export function renderDaemonJson(o: { swarm: boolean }): string {
  const config: Record<string, unknown> = {
    "log-driver": "json-file",
    // The same rotation every workload gets, for containers started outside this program (sandboxes).
    "log-opts": LOG_OPTIONS,
    "no-new-privileges": true,
    icc: false,
    "userland-proxy": false,
    "default-ulimits": { nofile: { Name: "nofile", Soft: 65536, Hard: 65536 } },
  };
  if (!o.swarm) config["live-restore"] = true;
  return JSON.stringify(config, null, 2) + "\n";
}

/** Seed 002 §1 tuning, plus kernel settings that narrow an escaped process's reach. */
export function renderSysctl(): string {
  return [
    "# Rendered by openclaw-infra (components/hostBaseline.ts).",
    "vm.swappiness = 10",
    "fs.inotify.max_user_watches = 524288",
    "fs.inotify.max_user_instances = 512",
    "net.core.somaxconn = 1024",
    "kernel.kptr_restrict = 2",
    "kernel.dmesg_restrict = 1",
    "kernel.unprivileged_bpf_disabled = 1",
    "net.ipv4.conf.all.rp_filter = 1",
    "net.ipv4.conf.all.accept_redirects = 0",
    "net.ipv6.conf.all.accept_redirects = 0",
    "net.ipv4.conf.all.send_redirects = 0",
    "",
  ].join("\n");
}

export function renderUnattendedUpgrades(): string {
  return [
    "// Rendered by openclaw-infra (components/hostBaseline.ts): security updates only (seed 002 §13.3).",
    "Unattended-Upgrade::Allowed-Origins {",
    "    \"${distro_id}:${distro_codename}-security\";",
    "};",
    "Unattended-Upgrade::AutoFixInterruptedDpkg \"true\";",
    "Unattended-Upgrade::Remove-Unused-Kernel-Packages \"true\";",
    "Unattended-Upgrade::Remove-Unused-Dependencies \"true\";",
    "Unattended-Upgrade::Automatic-Reboot \"true\";",
    "Unattended-Upgrade::Automatic-Reboot-Time \"05:00\";",
    "APT::Periodic::Update-Package-Lists \"1\";",
    "APT::Periodic::Unattended-Upgrade \"1\";",
    "APT::Periodic::AutocleanInterval \"7\";",
    "",
  ].join("\n");
}

export function renderFail2banJail(o: { sshPort: number; ignoreAddresses: string[] }): string {
  return [
    "# Rendered by openclaw-infra (components/hostBaseline.ts).",
    "[sshd]",
    "enabled = true",
    `port = ${o.sshPort}`,
    "backend = systemd",
    "maxretry = 3",
    "findtime = 10m",
    "bantime = 1h",
    `ignoreip = 127.0.0.1/8 ::1 ${o.ignoreAddresses.join(" ")}`.trimEnd(),
    "",
  ].join("\n");
}

export interface HostBaselineArgs {
  host: Host;
  sshPort: number;
  adminAddresses: string[];
  swarm: boolean;
}

interface BaselineFile {
  key: string;
  path: string;
  content: string;
  /** Run after the file changed; must leave the host working. */
  activate: string;
}

export class HostBaseline extends pulumi.ComponentResource {
  readonly files: BaselineFile[];

  constructor(name: string, args: HostBaselineArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openclaw:infra:HostBaseline", name, {}, opts);
    const packages = new command.remote.Command(`${name}-packages`, {
      connection: args.host.connection,
      create: asRoot(renderPackagesScript(BASELINE_PACKAGES)),
      triggers: [BASELINE_PACKAGES.join(" ")],
    }, { parent: this });

    this.files = [
      { key: "sshd", path: "/etc/ssh/sshd_config", content: renderSshdConfig({ port: args.sshPort, allowUsers: [args.host.config.sshUser] }),
        activate: "sshd -t -f /etc/ssh/sshd_config && systemctl reload ssh" },
      { key: "daemon-json", path: "/etc/docker/daemon.json", content: renderDaemonJson({ swarm: args.swarm }),
        activate: "systemctl restart docker" },
      { key: "sysctl", path: "/etc/sysctl.d/99-openclaw.conf", content: renderSysctl(), activate: "sysctl --system >/dev/null" },
      { key: "unattended-upgrades", path: "/etc/apt/apt.conf.d/52openclaw-unattended-upgrades", content: renderUnattendedUpgrades(),
        activate: "systemctl enable --now unattended-upgrades" },
      { key: "fail2ban", path: "/etc/fail2ban/jail.d/openclaw.local", content: renderFail2banJail({ sshPort: args.sshPort, ignoreAddresses: args.adminAddresses }),
        activate: "systemctl enable fail2ban && systemctl restart fail2ban" },
    ];
    for (const file of this.files) {
      const placed = hostFile(`${name}-${file.key}`, args.host, { path: file.path, content: file.content, mode: "0644", owner: "root:root", secret: false }, { parent: this, dependsOn: [packages] });
      new command.remote.Command(`${name}-${file.key}-activate`, {
        connection: args.host.connection,
        create: asRoot(`set -eu; ${file.activate}`),
        triggers: [createHash("sha256").update(file.content).digest("hex")],
      }, { parent: this, dependsOn: [placed] });
    }
    this.registerOutputs({});
  }
}
