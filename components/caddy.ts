/**
 * Caddy: TLS ingress for the single-VPS stack when Cloudflare proxies to the
 * origin (Full strict). Ports 80/443 are published, and the firewall admits
 * only Cloudflare's ranges to them. The Caddyfile routes each gateway by the
 * path prefix of its public route (infra/publicRoutes.ts decides them).
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ContainerTarget, deployWorkload, dockerResourceOptions, NetworkAttachment } from "../infra/workload";

const CADDYFILE_PATH = "/etc/caddy/Caddyfile";

export interface CaddyRoute {
  /** `/` for the route at the root, `/<prefix>/` for the others (stripped before proxying). */
  pathPrefix: string;
  upstream: string;
}

export function renderCaddyfile(domain: string, routes: CaddyRoute[]): string {
  const roots = routes.filter((r) => r.pathPrefix === "/");
  const others = routes.filter((r) => r.pathPrefix !== "/");
  const primary = roots[0];
  if (!primary || roots.length > 1) throw new Error(`Caddyfile: expected exactly one route at /, got ${roots.length}`);
  for (const r of others) if (!/^\/[a-z0-9-]+\/$/.test(r.pathPrefix)) throw new Error(`Caddyfile: bad path prefix ${r.pathPrefix}`);
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
    lines.push(`\thandle_path ${route.pathPrefix}* {`, `\t\treverse_proxy ${route.upstream}`, "\t}");
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
  target: ContainerTarget;
}

export class Caddy extends pulumi.ComponentResource {
  readonly caddyfile: string;

  constructor(name: string, args: CaddyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openclaw:infra:Caddy", name, {}, opts);
    this.caddyfile = renderCaddyfile(args.domain, args.routes);
    const data = new docker.Volume(`${name}-data`, { name: `${name}-data` }, dockerResourceOptions(args.target, this));
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
