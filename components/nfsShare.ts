/**
 * NfsShare: one directory exported over NFSv4 by one node and mounted by the
 * managers (seed 000 §5: CapRover's /captain/data, so its dashboard survives
 * a leader change). The export admits exactly the clients' addresses (never
 * a subnet or `*`, which seed 001 uses); `no_root_squash` only when the
 * caller states why (CapRover's captain runs as root and owns its data:
 * seed 000's reason, which holds for /captain/data and nothing else).
 * NFSv2/3 are off, so rpcbind/111 is not needed; mounts are
 * `nosuid,noexec,nodev,hard` with an explicit version.
 */
import { createHash } from "node:crypto";
import { isIP } from "node:net";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Host } from "../infra/hosts";
import { hostFile } from "../infra/files";
import { asRoot } from "../infra/hosts";

export const NFS_VERSION = "4.2";
export const NFS_PORT = 2049;
export const EXPORTS_FILE = "/etc/exports.d/openclaw.exports";
export const NFS_CONF_FILE = "/etc/nfs.conf.d/openclaw.conf";

export interface NfsExportOptions {
  path: string;
  /** Exact client addresses (the managers). */
  clients: string[];
  /** Why root on a client must stay root on the export; absent = root_squash. */
  noRootSquashBecause?: string;
}

function checkPath(path: string): string {
  if (!/^\/[A-Za-z0-9._/-]+$/.test(path) || path.includes("..") || path.endsWith("/")) throw new Error(`nfs: ${JSON.stringify(path)} is not an absolute directory path`);
  return path;
}

export function exportProblems(o: NfsExportOptions): string[] {
  const problems: string[] = [];
  if (o.clients.length === 0) problems.push(`${o.path}: no clients: nothing would mount it`);
  for (const c of o.clients) if (isIP(c) === 0) problems.push(`${o.path}: client ${JSON.stringify(c)} must be one address (no subnets, no wildcards)`);
  if (o.noRootSquashBecause !== undefined && o.noRootSquashBecause.trim().length < 10) problems.push(`${o.path}: no_root_squash needs its reason`);
  return problems;
}

/** The exports(5) file: one line per export, one entry per client. */
export function renderExports(exports: NfsExportOptions[]): string {
  const problems = exports.flatMap(exportProblems);
  if (problems.length > 0) throw new Error(`nfs: ${problems.join("; ")}`);
  const lines = ["# Rendered by openclaw-infra (components/nfsShare.ts). Do not edit on the host."];
  for (const e of exports) {
    const squash = e.noRootSquashBecause === undefined ? "root_squash" : "no_root_squash";
    if (e.noRootSquashBecause !== undefined) lines.push(`# no_root_squash: ${e.noRootSquashBecause.replace(/\s+/g, " ")}`);
    const options = `rw,sync,secure,no_subtree_check,sec=sys,${squash}`;
    lines.push(`${checkPath(e.path)} ${[...new Set(e.clients)].map((c) => `${c}(${options})`).join(" ")}`);
  }
  return lines.join("\n") + "\n";
}

/** nfs.conf drop-in: the server speaks NFSv4.1+ only (no v2/v3, so no rpcbind, no mountd port). */
export function renderNfsConf(): string {
  return [
    "# Rendered by openclaw-infra (components/nfsShare.ts).",
    "[nfsd]",
    "vers2=n",
    "vers3=n",
    "vers4=y",
    "vers4.0=n",
    "vers4.1=y",
    "vers4.2=y",
    "",
  ].join("\n");
}

export const MOUNT_OPTIONS = [`vers=${NFS_VERSION}`, "proto=tcp", "hard", "timeo=600", "retrans=2", "nosuid", "noexec", "nodev", "noatime", "_netdev"];

/** The fstab(5) line a client mounts the export with. */
export function renderFstabLine(o: { server: string; path: string; mountPoint: string }): string {
  if (isIP(o.server) === 0) throw new Error(`nfs: server ${JSON.stringify(o.server)} must be an address`);
  const server = isIP(o.server) === 6 ? `[${o.server}]` : o.server;
  return `${server}:${checkPath(o.path)} ${checkPath(o.mountPoint)} nfs4 ${MOUNT_OPTIONS.join(",")} 0 0`;
}

const HEADER = "#!/usr/bin/env bash\n# Rendered by openclaw-infra (components/nfsShare.ts).\nset -euo pipefail\n";

/**
 * Run after the exports file or nfs.conf changed (both placed by hostFile):
 * installs the server, creates the exported directories, turns the
 * portmapper off, (re)starts nfs-server and re-reads the exports.
 */
export function renderServerActivateScript(o: { paths: string[] }): string {
  return `${HEADER}
export DEBIAN_FRONTEND=noninteractive
dpkg-query -W -f='\${Status}' nfs-kernel-server 2>/dev/null | grep -q "install ok installed" || apt-get install -y -qq nfs-kernel-server >/dev/null
${o.paths.map((p) => `install -d -m 0755 ${checkPath(p)}`).join("\n")}
# NFSv4 only: nothing needs the portmapper.
systemctl mask --now rpcbind.service rpcbind.socket >/dev/null 2>&1 || true
systemctl enable nfs-server >/dev/null
systemctl restart nfs-server
exportfs -ra
echo "nfs server: $(exportfs -s | wc -l) export entries"
`;
}

export function renderClientScript(o: { server: string; path: string; mountPoint: string }): string {
  const line = renderFstabLine(o);
  const mountPoint = checkPath(o.mountPoint);
  const source = line.split(" ")[0]!;
  return `${HEADER}
export DEBIAN_FRONTEND=noninteractive
dpkg-query -W -f='\${Status}' nfs-common 2>/dev/null | grep -q "install ok installed" || apt-get install -y -qq nfs-common >/dev/null
readonly LINE='${line}'
install -d -m 0755 ${mountPoint}
changed=0
if ! grep -qxF "\${LINE}" /etc/fstab; then
  # Replace whatever mounted this mount point before.
  awk -v mp='${mountPoint}' '$2 != mp' /etc/fstab >/etc/fstab.openclaw
  printf '%s\\n' "\${LINE}" >>/etc/fstab.openclaw
  chmod 0644 /etc/fstab.openclaw && mv /etc/fstab.openclaw /etc/fstab
  changed=1
fi
current=$(findmnt -n -o SOURCE --mountpoint ${mountPoint} || true)
if [[ -z "\${current}" ]]; then
  mount ${mountPoint}
  changed=1
elif [[ "\${current}" != '${source}' ]]; then
  echo "nfs client: ${mountPoint} is mounted from \${current}, expected ${source}: unmount it first (docs/operations.md, NFS-server loss)" >&2
  exit 1
fi
if ((changed)); then echo "nfs client: changed"; else echo "nfs client: unchanged"; fi
`;
}

export interface NfsShareArgs {
  server: Host;
  /** Address clients reach the server on. */
  serverAddress: string;
  clients: { host: Host; address: string }[];
  path: string;
  /** Where clients mount it; default the same path. */
  mountPoint?: string;
  noRootSquashBecause?: string;
}

export class NfsShare extends pulumi.ComponentResource {
  readonly fstabLine: string;

  constructor(name: string, args: NfsShareArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openclaw:infra:NfsShare", name, {}, opts);
    const exportsText = renderExports([{ path: args.path, clients: args.clients.map((c) => c.address), noRootSquashBecause: args.noRootSquashBecause }]);
    const files = [
      hostFile(`${name}-exports`, args.server, { path: EXPORTS_FILE, content: exportsText, mode: "0644", owner: "root:root", secret: false }, { parent: this, dependsOn: args.server.ready }),
      hostFile(`${name}-nfs-conf`, args.server, { path: NFS_CONF_FILE, content: renderNfsConf(), mode: "0644", owner: "root:root", secret: false }, { parent: this, dependsOn: args.server.ready }),
    ];
    const server = new command.remote.Command(`${name}-server`, {
      connection: args.server.connection,
      create: asRoot(renderServerActivateScript({ paths: [args.path] })),
      triggers: [createHash("sha256").update(exportsText + renderNfsConf()).digest("hex")],
    }, { parent: this, dependsOn: files });

    const mount = { server: args.serverAddress, path: args.path, mountPoint: args.mountPoint ?? args.path };
    this.fstabLine = renderFstabLine(mount);
    for (const client of args.clients) {
      new command.remote.Command(`${name}-mount-${client.host.name}`, {
        connection: client.host.connection,
        create: asRoot(renderClientScript(mount)),
      }, { parent: this, dependsOn: [server, ...client.host.ready] });
    }
    this.registerOutputs({ fstabLine: this.fstabLine });
  }
}
