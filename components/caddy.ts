/**
 * Caddy: TLS ingress for the single-VPS stack when Cloudflare proxies to the
 * origin (Full strict). Ports 80/443 are published, and the firewall admits
 * only Cloudflare's ranges to them. The Caddyfile routes each gateway
 * instance: the first at `/`, the others under `/<instance>/`.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { deployWorkload, NetworkAttachment, WorkloadTarget } from "../infra/workload";

const CADDYFILE_PATH = "/etc/caddy/Caddyfile";

export interface CaddyRoute {
  /** Instance name; the first route is served at `/`. */
  instance: string;
  upstream: string;
}

export function renderCaddyfile(domain: string, routes: CaddyRoute[]): string {
  const [primary, ...others] = routes;
  if (!primary) throw new Error("Caddyfile: no gateway to route to");
  const lines = [
    "# Rendered by openclaw-infra (components/caddy.ts). Do not edit on the host.",
    "{",
    "\tadmin off",
    "}",
    "",
    `${domain} {`,
    "\tencode gzip",
    "\theader {",
    "\t\tStrict-Transport-Security \"max-age=31536000\"",
    "\t\tX-Content-Type-Options nosniff",
    "\t\tReferrer-Policy no-referrer",
    "\t\t-Server",
    "\t}",
  ];
  for (const route of others) {
    lines.push(`\thandle_path /${route.instance}/* {`, `\t\treverse_proxy ${route.upstream}`, "\t}");
  }
  lines.push("\thandle {", `\t\treverse_proxy ${primary.upstream}`, "\t}", "}", "");
  return lines.join("\n");
}

export interface CaddyArgs {
  /** Memory limit; the stack's capacity check counts the same number. */
  memoryMb: number;
  image: pulumi.Input<string>;
  domain: string;
  routes: CaddyRoute[];
  network: NetworkAttachment;
  target: WorkloadTarget & { kind: "container" };
}

export class Caddy extends pulumi.ComponentResource {
  readonly caddyfile: string;

  constructor(name: string, args: CaddyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openclaw:infra:Caddy", name, {}, opts);
    this.caddyfile = renderCaddyfile(args.domain, args.routes);
    const provider = args.target.host.docker;
    const data = new docker.Volume(`${name}-data`, { name: `${name}-data` }, { parent: this, provider });
    deployWorkload({
      name,
      image: args.image,
      networks: [args.network],
      files: [{ path: CADDYFILE_PATH, content: this.caddyfile, secret: false, uid: 0, gid: 0, mode: "0444" }],
      volumes: [{ source: data.name, target: "/data", readOnly: false }],
      memoryMb: args.memoryMb,
      cpus: 0.5,
      capAdd: ["NET_BIND_SERVICE"],
      readOnlyRoot: true,
      tmpfs: { "/config": "rw,noexec,nosuid,size=8m", "/tmp": "rw,noexec,nosuid,size=16m" },
      ports: [
        { internal: 80, external: 80, ip: "0.0.0.0" },
        { internal: 443, external: 443, ip: "0.0.0.0" },
        { internal: 80, external: 80, ip: "::" },
        { internal: 443, external: 443, ip: "::" },
      ],
      healthcheck: { test: ["CMD", "caddy", "version"], intervalSeconds: 30, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 10 },
      labels: { "openclaw.role": "ingress" },
    }, args.target, this);
    this.registerOutputs({});
  }
}
