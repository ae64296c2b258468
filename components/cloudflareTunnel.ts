/**
 * CloudflareTunnel: ingress with no inbound port at all. A remotely managed
 * tunnel, its ingress config, a proxied CNAME, and a cloudflared container
 * that reads its token from a file (never env, never argv).
 */
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { deployWorkload, NetworkAttachment, SECRETS_DIR, WorkloadTarget } from "../infra/workload";

const TOKEN_PATH = `${SECRETS_DIR}/tunnel-token`;
// The cloudflared image runs as the distroless nonroot user.
const CLOUDFLARED_UID = 65532;

export interface CloudflareTunnelArgs {
  /** Memory limit; the stack's capacity check counts the same number. */
  memoryMb: number;
  accountId: string;
  zoneId: string;
  /** One hostname per gateway (a tunnel cannot strip a path prefix, so the routes are host-based). */
  routes: TunnelRoute[];
  image: pulumi.Input<string>;
  /** A network reaching the gateways and one reaching Cloudflare. */
  networks: NetworkAttachment[];
  target: WorkloadTarget;
}

export interface TunnelRoute {
  hostname: string;
  upstream: string;
}

/** The tunnel's ingress rules, one per route. */
export function tunnelIngress(routes: TunnelRoute[]): { hostname: string; service: string }[] {
  return routes.map((route) => ({ hostname: route.hostname, service: `http://${route.upstream}` }));
}

export class CloudflareTunnel extends pulumi.ComponentResource {
  readonly tunnelId: pulumi.Output<string>;
  readonly dnsRecordIds: pulumi.Output<string>[];
  readonly hostnames: string[];

  constructor(name: string, args: CloudflareTunnelArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openclaw:infra:CloudflareTunnel", name, {}, opts);
    const secret = new random.RandomBytes(`${name}-secret`, { length: 32 }, { parent: this });
    const tunnel = new cloudflare.ZeroTrustTunnelCloudflared(name, {
      accountId: args.accountId,
      name,
      configSrc: "cloudflare",
      tunnelSecret: secret.base64,
    }, { parent: this });
    this.tunnelId = tunnel.id;
    const ingress = tunnelIngress(args.routes);
    this.hostnames = ingress.map((i) => i.hostname);
    new cloudflare.ZeroTrustTunnelCloudflaredConfig(`${name}-config`, {
      accountId: args.accountId,
      tunnelId: tunnel.id,
      config: { ingresses: [...ingress, { service: "http_status:404" }] },
    }, { parent: this });
    this.dnsRecordIds = ingress.map((i, n) => new cloudflare.DnsRecord(`${name}-dns-${n}`, {
      zoneId: args.zoneId,
      name: i.hostname,
      type: "CNAME",
      content: pulumi.interpolate`${tunnel.id}.cfargotunnel.com`,
      proxied: true,
      ttl: 1,
    }, { parent: this }).id);
    const token = cloudflare.getZeroTrustTunnelCloudflaredTokenOutput({ accountId: args.accountId, tunnelId: tunnel.id }, { parent: this });

    deployWorkload({
      name,
      image: args.image,
      command: ["tunnel", "--no-autoupdate", "run", "--token-file", TOKEN_PATH],
      networks: args.networks,
      files: [{ path: TOKEN_PATH, content: pulumi.secret(token.token), secret: true, uid: CLOUDFLARED_UID, gid: CLOUDFLARED_UID, mode: "0400" }],
      memoryMb: args.memoryMb,
      cpus: 0.5,
      readOnlyRoot: true,
      healthcheck: { test: ["CMD", "cloudflared", "version"], intervalSeconds: 30, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 10 },
      labels: { "openclaw.role": "ingress" },
    }, args.target, this);
    this.registerOutputs({ tunnelId: this.tunnelId });
  }
}
