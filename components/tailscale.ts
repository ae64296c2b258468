/**
 * Tailscale: the host joins the tailnet with a tagged, pre-authorized,
 * single-use auth key (`tailscale.TailnetKey`), and `tailscale serve`
 * publishes each loopback gateway on the tailnet over HTTPS. The key travels
 * on stdin into a root-only temp file that `tailscale up --auth-key=file:`
 * reads and the script deletes: it is never on a command line, in a rendered
 * file, or in a stack output.
 *
 * Funnel (public exposure) is impossible twice over: the rendered tailnet
 * policy grants no node the `funnel` attribute (Tailscale refuses Funnel
 * without it), and the serve script fails when any Funnel is on.
 *
 * The policy (`tailscale.Acl`) replaces the tailnet's whole policy file: it
 * lets only the configured admins reach the gateway ports and SSH on the
 * tagged host, and carries `tests` the control plane runs before accepting it.
 */
import { createHash } from "node:crypto";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as tailscale from "@pulumi/tailscale";
import { asRoot, Host } from "../infra/hosts";

export interface TailnetPolicyOptions {
  /** Tags the gateway host carries (`tag:openclaw`). */
  tags: string[];
  /** Logins (`alice@example.com`) and groups (`group:openclaw-admins`) allowed in. */
  admins: string[];
  groups: Record<string, string[]>;
  /** Ports admins may reach on the tagged host: the gateways' serve ports and SSH. */
  ports: number[];
}

export interface TailnetPolicy {
  groups: Record<string, string[]>;
  tagOwners: Record<string, string[]>;
  acls: { action: "accept"; src: string[]; dst: string[] }[];
  nodeAttrs: { target: string[]; attr: string[] }[];
  ssh: unknown[];
  tests: { src: string; accept?: string[]; deny?: string[] }[];
}

/** What is wrong with a policy, in words: an empty list means it is safe to apply. */
export function tailnetPolicyProblems(policy: TailnetPolicy, o: Pick<TailnetPolicyOptions, "tags" | "admins" | "ports">): string[] {
  const problems: string[] = [];
  const admins = new Set(o.admins);
  for (const rule of policy.acls) {
    for (const src of rule.src) {
      if (!admins.has(src)) problems.push(`acl source ${src} is not a configured admin`);
    }
    for (const dst of rule.dst) {
      const [target = "", ports = ""] = dst.split(/:(?=[^:]*$)/);
      if (!o.tags.includes(target)) problems.push(`acl destination ${dst} is not the gateway host's tag`);
      for (const port of ports.split(",")) {
        if (!o.ports.map(String).includes(port)) problems.push(`acl destination ${dst} opens port ${port}, which is neither a gateway nor SSH`);
      }
    }
  }
  for (const attr of policy.nodeAttrs) {
    if (attr.attr.some((a) => a === "funnel")) problems.push(`nodeAttrs grant funnel to ${attr.target.join(", ")}: the gateway would be public`);
  }
  if (policy.ssh.length > 0) problems.push("Tailscale SSH rules are not rendered: admins use sshd over the tailnet");
  for (const tag of o.tags) {
    for (const owner of policy.tagOwners[tag] ?? []) if (!admins.has(owner)) problems.push(`${owner} may apply ${tag} but is not an admin`);
  }
  return problems;
}

/** The policy as data; `renderTailnetPolicy` writes it as HuJSON. */
export function tailnetPolicy(o: TailnetPolicyOptions): TailnetPolicy {
  const dst = o.tags.map((tag) => `${tag}:${o.ports.join(",")}`);
  const adminLogins = o.admins.flatMap((a) => (a.startsWith("group:") ? o.groups[a] ?? [] : [a]));
  const policy: TailnetPolicy = {
    groups: o.groups,
    tagOwners: Object.fromEntries(o.tags.map((tag) => [tag, o.admins])),
    acls: [{ action: "accept", src: o.admins, dst }],
    nodeAttrs: [],
    ssh: [],
    tests: [
      ...adminLogins.map((login) => ({ src: login, accept: o.tags.flatMap((tag) => o.ports.map((p) => `${tag}:${p}`)) })),
      // A compromised gateway host reaches no other tagged host on any of these ports.
      ...o.tags.map((tag) => ({ src: tag, deny: o.tags.flatMap((t) => o.ports.map((p) => `${t}:${p}`)) })),
    ],
  };
  const problems = tailnetPolicyProblems(policy, o);
  if (problems.length > 0) throw new Error(`tailnet policy: ${problems.join("; ")}`);
  return policy;
}

/** HuJSON (JSON with comments and trailing commas), as Tailscale's admin console writes it. */
export function renderTailnetPolicy(o: TailnetPolicyOptions): string {
  const policy = tailnetPolicy(o);
  const section = (key: keyof TailnetPolicy, comment: string) => {
    const body = JSON.stringify(policy[key], null, 2).split("\n").map((line, i) => (i === 0 ? line : `  ${line}`)).join("\n");
    return `  // ${comment}\n  "${key}": ${body},`;
  };
  return [
    "// Rendered by openclaw-infra (components/tailscale.ts): the whole tailnet policy file.",
    "{",
    section("groups", "Admin groups from config."),
    section("tagOwners", "Only admins may tag a machine as the gateway host."),
    section("acls", "Admins reach the gateway ports and SSH on the tagged host; nothing else is allowed."),
    section("nodeAttrs", "No node gets the \"funnel\" attribute: Tailscale Funnel (public exposure) cannot be enabled."),
    section("ssh", "No Tailscale SSH: admins use sshd over the tailnet (UFW admits only tailscale0)."),
    section("tests", "Run by the control plane before it accepts this policy."),
    "}",
    "",
  ].join("\n");
}

export interface ServeOptions {
  hostname: string;
  tags: string[];
  /** Each gateway's loopback port, published on the tailnet at the same HTTPS port. */
  ports: number[];
}

/** Where the auth key waits for `tailscale up`: a root-only file in /run, removed on exit. */
const KEY_DIR = "/run/openclaw-tailscale";

/**
 * Joins the tailnet (once) with the key read from stdin, then makes the serve
 * config exactly the desired one and refuses any Funnel. Prints
 * `tailscale: unchanged` on a re-run that had nothing to do.
 */
export function renderTailscaleUpScript(o: ServeOptions): string {
  for (const tag of o.tags) if (!/^tag:[a-z0-9-]+$/.test(tag)) throw new Error(`tailscale: bad tag ${tag}`);
  if (!/^[a-z][a-z0-9-]*$/.test(o.hostname)) throw new Error(`tailscale: bad hostname ${o.hostname}`);
  const ports = o.ports.map((p) => {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new Error(`tailscale: bad port ${p}`);
    return String(p);
  });
  return `#!/usr/bin/env bash
# Rendered by openclaw-infra (components/tailscale.ts): join the tailnet, serve the loopback gateways, never Funnel.
# The single-use auth key arrives on stdin; it is never an argument of any command.
set -euo pipefail
export LC_ALL=C
readonly PORTS=(${ports.join(" ")})
changed=0

if [[ "$(tailscale status --json 2>/dev/null | jq -r '.BackendState // empty')" != "Running" ]]; then
  install -d -m 0700 -o root -g root ${KEY_DIR}
  key_file=$(mktemp ${KEY_DIR}/auth-key.XXXXXX)
  trap 'rm -f "\${key_file}"' EXIT
  head -c 4096 >"\${key_file}"
  [[ -s "\${key_file}" ]] || { echo "tailscale: no auth key on stdin" >&2; exit 1; }
  tailscale up --auth-key="file:\${key_file}" --hostname=${o.hostname} --advertise-tags=${o.tags.join(",")} --ssh=false --accept-routes=false --accept-dns=false
  rm -f "\${key_file}"
  changed=1
else
  cat >/dev/null # the key is not needed once joined (it was single-use anyway)
fi

dns_name=$(tailscale status --json | jq -r '.Self.DNSName | rtrimstr(".")')
serve_status=$(tailscale serve status --json 2>/dev/null || echo '{}')
for port in "\${PORTS[@]}"; do
  want="http://127.0.0.1:\${port}"
  have=$(jq -r --arg hp "\${dns_name}:\${port}" '.Web[$hp].Handlers["/"].Proxy // empty' <<<"\${serve_status}")
  if [[ "\${have}" != "\${want}" ]]; then
    tailscale serve --bg --yes --https="\${port}" "\${want}" >/dev/null
    changed=1
  fi
done

# Funnel must be off everywhere: the tailnet policy does not grant it, and this refuses to finish if it is on.
if tailscale serve status --json 2>/dev/null | jq -e '(.AllowFunnel // {}) | to_entries | any(.value)' >/dev/null; then
  echo "tailscale: Funnel is enabled on this node: refusing (run: tailscale funnel reset)" >&2
  exit 1
fi
if (( changed )); then echo "tailscale: changed"; else echo "tailscale: unchanged"; fi
`;
}

export interface TailscaleArgs extends ServeOptions {
  host: Host;
  admins: string[];
  groups: Record<string, string[]>;
  /** SSH port admins reach over the tailnet. */
  sshPort: number;
  /** Seconds the single-use key stays valid: only until the first join. */
  authKeyExpirySeconds: number;
}

export class Tailscale extends pulumi.ComponentResource {
  readonly policy: string;
  readonly upScript: string;

  constructor(name: string, args: TailscaleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openclaw:infra:Tailscale", name, {}, opts);
    this.policy = renderTailnetPolicy({ tags: args.tags, admins: args.admins, groups: args.groups, ports: [...args.ports, args.sshPort] });
    this.upScript = renderTailscaleUpScript(args);
    // The policy first: the tags the key carries must have owners before a machine can use them.
    const acl = new tailscale.Acl(`${name}-policy`, { acl: this.policy, overwriteExistingContent: true }, { parent: this });
    const key = new tailscale.TailnetKey(`${name}-auth-key`, {
      reusable: false,
      ephemeral: false,
      preauthorized: true,
      tags: args.tags,
      expiry: args.authKeyExpirySeconds,
      recreateIfInvalid: "never",
      description: `openclaw ${args.hostname}`.replace(/[^A-Za-z0-9 ]/g, " "),
    }, { parent: this, dependsOn: [acl], additionalSecretOutputs: ["key"] });
    new command.remote.Command(`${name}-up`, {
      connection: args.host.connection,
      create: asRoot(this.upScript),
      stdin: pulumi.secret(key.key),
      logging: "stdoutAndStderr",
      triggers: [createHash("sha256").update(this.upScript).digest("hex")],
    }, { parent: this, additionalSecretOutputs: ["stdin"] });
    this.registerOutputs({ policy: this.policy });
  }
}
