/**
 * EgressProxy: Squid as the only way out of the internal network. HTTPS
 * CONNECT to port 443 of allowlisted domains, plus (optionally) plain HTTP or a
 * CONNECT tunnel to exactly one internal destination (LiteLLM, because
 * OpenClaw's proxy.proxyUrl clears NO_PROXY); everything else is refused. Valid for Squid 5.7 (Debian)
 * and 6.x (the container image).
 */
import * as pulumi from "@pulumi/pulumi";
import { admitsEverything, ALLOWLIST_ENTRY, allowlistConflicts } from "../infra/rules";
import { deployWorkload, NetworkAttachment, WorkloadTarget } from "../infra/workload";

export const SQUID_PORT = 3128;
const SQUID_CONF_PATH = "/etc/squid/squid.conf";
// uid/gid of `proxy` in the Ubuntu and Debian squid packages.
const PROXY_UID = 13;

export interface InternalDestination {
  host: string;
  port: number;
}

export interface SquidConfOptions {
  /** Domains: `.example.com` = the domain and its subdomains; `api.example.com` = exactly that name. */
  allowDomains: string[];
  /** Exact client subnets: the internal network(s) only. */
  clientSubnets: string[];
  /** Plain-HTTP destinations inside the deployment that must pass (LiteLLM). */
  internalDestinations: InternalDestination[];
  /** `http_port` value: a port, or addr:port (tests listen on loopback). */
  listen?: string;
}

/**
 * Problems with the options, in words; renderSquidConf refuses to render when
 * any. User values reach here already checked by the config model with the
 * same rules (infra/rules.ts): these are assertions.
 */
export function squidConfProblems(options: SquidConfOptions): string[] {
  const problems: string[] = [];
  if (options.allowDomains.length === 0) problems.push("the egress allowlist is empty");
  if (options.clientSubnets.length === 0) problems.push("no client subnet: the proxy would serve nobody, or everybody");
  for (const d of options.allowDomains) {
    if (!ALLOWLIST_ENTRY.test(d)) problems.push(`"${d}" is not a domain name`);
  }
  for (const s of options.clientSubnets) {
    if (admitsEverything(s)) problems.push(`client subnet ${s} admits every address`);
  }
  for (const dest of options.internalDestinations) {
    if (!/^[a-z][a-z0-9-]*$/.test(dest.host)) problems.push(`internal destination "${dest.host}" must be a container name`);
  }
  problems.push(...allowlistConflicts(options.allowDomains).map((c) => c.problem));
  return problems;
}

export function renderSquidConf(options: SquidConfOptions): string {
  const problems = squidConfProblems(options);
  if (problems.length > 0) throw new Error(`squid.conf: ${problems.join("; ")}`);
  const domains = [...options.allowDomains].sort();
  const lines = [
    "# Rendered by openclaw-infra (components/egressProxy.ts). Do not edit on the host.",
    `http_port ${options.listen ?? SQUID_PORT}`,
    "",
    "acl localnet src " + options.clientSubnets.join(" "),
    "acl CONNECT method CONNECT",
    "acl https_port port 443",
    // -n: never reverse-resolve an IP literal into an allowlisted name.
    "acl allowlist dstdomain -n " + domains.join(" "),
    "acl ip_literal dstdom_regex -n ^[0-9.]+$ ^\\[?[0-9a-fA-F:.]*:[0-9a-fA-F:.]*\\]?$",
    "acl linklocal_dst dst 169.254.0.0/16 fe80::/10",
    // An allowlisted name whose DNS answer points into private space (DNS rebinding) must not
    // reach the deployment's own networks: RFC 1918, CGNAT, "this network", IPv6 unique-local.
    "acl private_dst dst 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 100.64.0.0/10 0.0.0.0/8 fc00::/7",
    "acl metadata_names dstdomain -n metadata.google.internal metadata instance-data",
  ];
  options.internalDestinations.forEach((dest, i) => {
    lines.push(`acl internal_host_${i} dstdomain -n ${dest.host}`, `acl internal_port_${i} port ${dest.port}`);
  });
  lines.push(
    "",
    "http_access deny !localnet",
    // Plain requests (LiteLLM-style clients) and CONNECT tunnels: OpenClaw 2026.9's proxy client tunnels even
    // http:// URLs (CONNECT openclaw-litellm:4000, seen on a real VPS). Either way, exactly that name and port.
    ...options.internalDestinations.map((_, i) => `http_access allow internal_host_${i} internal_port_${i}`),
    "http_access deny !CONNECT",
    "http_access deny !https_port",
    "http_access deny ip_literal",
    "http_access deny metadata_names",
    "http_access deny to_localhost",
    "http_access deny linklocal_dst",
    "http_access deny private_dst",
    "http_access allow CONNECT allowlist",
    "http_access deny all",
    "",
    "# Hardening (no `via off`: Squid warns that HTTP requires Via, and CONNECT tunnels never carry it)",
    "forwarded_for delete",
    "httpd_suppress_version_string on",
    "",
    "# No cache: this proxy only tunnels",
    "cache deny all",
    "cache_mem 32 MB",
    "maximum_object_size_in_memory 256 KB",
    "",
  );
  return lines.join("\n");
}

export interface EgressProxyArgs {
  /** Domains the deployment may reach over HTTPS (LLM providers, embeddings). */
  allowDomains: string[];
  /** Subnets of the internal network: the only clients served. */
  clientSubnets: string[];
  /** Internal plain-HTTP destinations that must pass (LiteLLM behind proxyUrl). */
  internalDestinations: InternalDestination[];
  image: pulumi.Input<string>;
  /** The internal network (clients) and an egress network (route out). */
  internalNetwork: NetworkAttachment;
  egressNetwork: NetworkAttachment;
  memoryMb: number;
  cpus: number;
  target: WorkloadTarget;
}

export class EgressProxy extends pulumi.ComponentResource {
  /** Name other workloads use to reach the proxy. */
  readonly hostName: string;
  /** `http://<name>:3128`. */
  readonly url: string;
  readonly squidConf: string;

  constructor(name: string, args: EgressProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openclaw:infra:EgressProxy", name, {}, opts);
    this.hostName = name;
    this.url = `http://${name}:${SQUID_PORT}`;
    this.squidConf = renderSquidConf({
      allowDomains: args.allowDomains,
      clientSubnets: args.clientSubnets,
      internalDestinations: args.internalDestinations,
    });
    deployWorkload({
      name,
      image: args.image,
      networks: [args.internalNetwork, args.egressNetwork],
      files: [{ path: SQUID_CONF_PATH, content: this.squidConf, secret: false, uid: 0, gid: PROXY_UID, mode: "0640" }],
      memoryMb: args.memoryMb,
      cpus: args.cpus,
      // squid starts as root, then drops to `proxy` for its workers.
      capAdd: ["SETUID", "SETGID", "CHOWN", "DAC_OVERRIDE"],
      readOnlyRoot: true,
      tmpfs: { "/var/spool/squid": "rw,noexec,nosuid,size=16m", "/var/log/squid": "rw,noexec,nosuid,size=64m", "/run": "rw,noexec,nosuid,size=8m", "/var/run": "rw,noexec,nosuid,size=8m" },
      // A TCP connect to the proxy port (bash: both the Ubuntu and the Debian image have it). Not `squid -k check`:
      // squid runs as PID 1 here and refuses to signal it ("Bad PID file ... unreasonably small PID value: 1",
      // seen on a real VPS), so the container was never healthy.
      healthcheck: { test: ["CMD", "bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/${SQUID_PORT}`], intervalSeconds: 30, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 15 },
    }, args.target, this);
    this.registerOutputs({ url: this.url, hostName: this.hostName });
  }
}
