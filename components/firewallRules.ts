/**
 * FirewallRules: UFW on one host, applied over SSH by an idempotent script.
 * Default deny incoming; SSH only from the admin addresses (not rate-limited:
 * a deployment opens one connection per remote Command), added before
 * default-deny and enable so an apply never locks the admin out; 80/443 only
 * from Cloudflare's pinned ranges (or closed); swarm peer and NFS rules from
 * config; an optional tailscale0-only mode and restricted outbound policy;
 * and a DOCKER-USER block in after.rules so ports Docker publishes cannot
 * bypass UFW.
 */
import { createHash } from "node:crypto";
import { isIP } from "node:net";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { allowRuleProblem, family, OutboundPorts, outboundAllowlistProblem, outboundRuleProblem } from "../infra/rules";
import { CLOUDFLARE_IPV4, CLOUDFLARE_IPV6 } from "../infra/cloudflareRanges";
import { hostFile } from "../infra/files";
import { asRoot, Host } from "../infra/hosts";

/** Where the apply script is kept on the host, so an admin can read and re-run it. */
export const FIREWALL_SCRIPT_PATH = "/usr/local/sbin/openclaw-firewall";

export interface FirewallOptions {
  sshPort: number;
  /** SSH is allowed only from these (IPv4/IPv6 addresses or CIDRs). */
  adminAddresses: string[];
  /** `cloudflare`: 80/443 from Cloudflare only (Caddy); `closed`: tunnel or Tailscale ingress. */
  web: "cloudflare" | "closed";
  /** Swarm peers: manager/gossip/overlay ports, and ESP when the overlay is encrypted. */
  swarmPeers?: string[];
  /** NFS (2049/tcp) clients of this host. */
  nfsClients?: string[];
  /** Admit SSH only on tailscale0 (plus the admin addresses from anywhere while migrating, when listed). */
  tailscaleOnly?: boolean;
  /** TCP ports admitted on tailscale0 besides SSH (gateways behind Tailscale Serve); the tailnet policy decides who reaches them. */
  tailnetPorts?: number[];
  /** Seed 003's hardened outbound policy: deny outgoing except these. Unset: outgoing is allowed. */
  outbound?: OutboundPorts[];
}

/** An outbound rule as `ufw show added` prints it (ufw's short syntax: no addresses, no interface). */
export function outboundRule(r: OutboundPorts): string {
  return `ufw allow out ${r.ports.join(",")}${r.protocol ? `/${r.protocol}` : ""}`;
}

/**
 * An address as UFW prints it: host prefixes dropped (/32, /128), IPv6
 * compressed. Rules must be rendered in this form, or a re-run would see
 * its own rules as foreign and delete them.
 */
export function ufwAddress(address: string): string {
  const [ip = "", prefix] = address.split("/");
  const v6 = isIP(ip) === 6;
  const canonical = v6 ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
  if (prefix === undefined || prefix === (v6 ? "128" : "32")) return canonical;
  return `${canonical}/${prefix}`;
}

/** The rules as `ufw show added` prints them, so a re-run can tell whether anything changed. */
export function renderUfwRules(o: FirewallOptions): string[] {
  const rules: string[] = [];
  if (o.tailscaleOnly) rules.push(`ufw allow in on tailscale0 to any port ${o.sshPort} proto tcp`);
  if (o.tailscaleOnly && o.tailnetPorts?.length) rules.push(`ufw allow in on tailscale0 to any port ${o.tailnetPorts.join(",")} proto tcp`);
  // `allow`, not `limit`: ufw's limit refuses the 6th new connection within 30 s, and `pulumi up` opens one
  // SSH connection per remote Command (dozens), so it locked the deployer out mid-apply (seen on the runtime
  // host suite). Only the admin addresses (and the tailnet in tailscale-only mode) reach the port at all;
  // password logins are off and fail2ban's sshd jail bans repeated failed logins from anyone else.
  for (const admin of o.adminAddresses.map(ufwAddress)) rules.push(`ufw allow from ${admin} to any port ${o.sshPort} proto tcp`);
  if (o.web === "cloudflare") {
    for (const range of [...CLOUDFLARE_IPV4, ...CLOUDFLARE_IPV6]) {
      rules.push(`ufw allow from ${range} to any port 80,443 proto tcp`);
      // Docker-published 80/443 traverse FORWARD: route rules admit them (see DOCKER-USER).
      rules.push(`ufw route allow from ${range} to any port 80,443 proto tcp`);
    }
  }
  for (const peer of (o.swarmPeers ?? []).map(ufwAddress)) {
    rules.push(`ufw allow from ${peer} to any port 2377,7946 proto tcp`, `ufw allow from ${peer} to any port 4789,7946 proto udp`);
    if (family(peer) === 4) rules.push(`ufw allow from ${peer} proto esp`);
  }
  for (const client of (o.nfsClients ?? []).map(ufwAddress)) rules.push(`ufw allow from ${client} to any port 2049 proto tcp`);
  // ufw prints rules without addresses or interfaces in its short syntax (parser.py get_command): render them so,
  // or a re-run sees its own rules as foreign (seen on the tailscale-host real-host run: "firewall: changed").
  for (const r of o.outbound ?? []) rules.push(outboundRule(r));
  return rules;
}

/** Assertions: the config model already refused these in the user's values (same rule, infra/rules.ts). */
export function firewallProblems(o: FirewallOptions): string[] {
  const problems: string[] = [];
  if (o.adminAddresses.length === 0 && !o.tailscaleOnly) problems.push("no admin address: SSH would be closed to everyone");
  for (const a of [...o.adminAddresses, ...(o.swarmPeers ?? []), ...(o.nfsClients ?? [])]) {
    const problem = allowRuleProblem(a);
    if (problem) problems.push(problem);
  }
  for (const r of o.outbound ?? []) {
    const problem = outboundRuleProblem(r);
    if (problem) problems.push(`outbound ${r.ports.join(",")}: ${problem}`);
  }
  const cutOff = o.outbound && outboundAllowlistProblem(o.outbound);
  if (cutOff) problems.push(`outbound: ${cutOff}`);
  return problems;
}

const BEGIN = "# BEGIN openclaw DOCKER-USER";
const END = "# END openclaw DOCKER-USER";

/**
 * The block appended to after.rules (IPv4) or after6.rules (IPv6): traffic
 * forwarded to containers from outside (not from a Docker bridge) passes
 * only when a `ufw route` rule admits it; everything else is dropped.
 */
export function renderDockerUserBlock(): string {
  return [
    BEGIN,
    "*filter",
    // after.rules loads before user.rules: declare the chain user.rules fills.
    ":ufw-user-forward - [0:0]",
    ":DOCKER-USER - [0:0]",
    "-F DOCKER-USER",
    "-A DOCKER-USER -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
    "-A DOCKER-USER -i docker0 -j RETURN",
    "-A DOCKER-USER -i br-+ -j RETURN",
    "-A DOCKER-USER -j ufw-user-forward",
    "-A DOCKER-USER -j DROP",
    "COMMIT",
    END,
    "",
  ].join("\n");
}

/** The idempotent apply script: prints `firewall: unchanged` or `firewall: changed`. */
export function renderFirewallScript(o: FirewallOptions): string {
  const problems = firewallProblems(o);
  if (problems.length > 0) throw new Error(`firewall: ${problems.join("; ")}`);
  const rules = renderUfwRules(o);
  const sshRules = rules.filter((r) => r.includes(`port ${o.sshPort} proto tcp`));
  const outgoing = o.outbound ? "deny" : "allow";
  const block = renderDockerUserBlock();
  return `#!/usr/bin/env bash
# Rendered by openclaw-infra (components/firewallRules.ts). Applies the UFW rule set idempotently.
set -euo pipefail
export LC_ALL=C

readonly DESIRED_RULES='${rules.join("\n")}'
readonly DOCKER_USER_BLOCK='${block}'
readonly STATUS_WANTED='Default: deny (incoming), ${outgoing} (outgoing), deny (routed)'

current_rules() { ufw show added | tail -n +2 | sed '/^(None)$/d' | sort; }

has_block() { # file
  local text
  text=$(sed -n '/^${BEGIN}$/,/^${END}$/p' "$1")
  [[ "\${text}" == "\${DOCKER_USER_BLOCK%$'\\n'}" ]]
}

write_block() { # file
  local tmp
  tmp=$(mktemp "$1.XXXXXX")
  sed '/^${BEGIN}$/,/^${END}$/d' "$1" >"\${tmp}"
  printf '%s' "\${DOCKER_USER_BLOCK}" >>"\${tmp}"
  chmod 0640 "\${tmp}"
  mv "\${tmp}" "$1"
}

command -v ufw >/dev/null || { echo "firewall: ufw is not installed" >&2; exit 1; }

if ufw status verbose | grep -qx 'Status: active' \\
  && ufw status verbose | grep -qxF "\${STATUS_WANTED}" \\
  && [[ "$(current_rules)" == "$(sort <<<"\${DESIRED_RULES}")" ]] \\
  && has_block /etc/ufw/after.rules && has_block /etc/ufw/after6.rules; then
  echo "firewall: unchanged"
  exit 0
fi

# SSH first: the admin keeps access whatever state the firewall was in.
${sshRules.map((r) => `${r} >/dev/null`).join("\n")}
ufw default deny incoming >/dev/null
ufw default ${outgoing} outgoing >/dev/null
ufw default deny routed >/dev/null
while IFS= read -r rule; do
  read -ra words <<<"\${rule}"
  ufw "\${words[@]:1}" >/dev/null
done <<<"\${DESIRED_RULES}"
# Remove what is no longer wanted.
while IFS= read -r rule; do
  [[ -z "\${rule}" ]] && continue
  if ! grep -qxF "\${rule}" <<<"\${DESIRED_RULES}"; then
    read -ra words <<<"\${rule}"
    ufw --force delete "\${words[@]:1}" >/dev/null
  fi
done < <(current_rules)
write_block /etc/ufw/after.rules
write_block /etc/ufw/after6.rules
ufw --force enable >/dev/null
ufw reload >/dev/null
echo "firewall: changed"
`;
}

/** Undo: UFW off and our after.rules blocks removed; rules stay listed for inspection. */
export function renderFirewallUndoScript(): string {
  return `#!/usr/bin/env bash
set -euo pipefail
for f in /etc/ufw/after.rules /etc/ufw/after6.rules; do
  [[ -f "$f" ]] && sed -i '/^${BEGIN}$/,/^${END}$/d' "$f"
done
ufw --force disable >/dev/null
echo "firewall: disabled"
`;
}

export interface FirewallRulesArgs extends FirewallOptions {
  host: Host;
}

export class FirewallRules extends pulumi.ComponentResource {
  readonly script: string;

  constructor(name: string, args: FirewallRulesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openclaw:infra:FirewallRules", name, {}, opts);
    const { host, ...options } = args;
    this.script = renderFirewallScript(options);
    const script = hostFile(`${name}-script`, host, { path: FIREWALL_SCRIPT_PATH, content: this.script, mode: "0700", owner: "root:root", secret: false }, { parent: this });
    new command.remote.Command(`${name}-apply`, {
      connection: host.connection,
      create: `sudo -n ${FIREWALL_SCRIPT_PATH}`,
      delete: asRoot(renderFirewallUndoScript()),
      triggers: [createHash("sha256").update(this.script).digest("hex")],
    }, { parent: this, dependsOn: [script] });
    this.registerOutputs({});
  }
}
