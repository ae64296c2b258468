/**
 * The single-vps topology (seed 002): one host running the socket proxy,
 * the Squid egress proxy, LiteLLM and N gateway instances in Docker, with
 * ingress through Caddy or a Cloudflare Tunnel.
 */
import * as cloudflare from "@pulumi/cloudflare";
import { Caddy } from "../components/caddy";
import { CloudflareTunnel } from "../components/cloudflareTunnel";
import { Gateway } from "../components/gateway";
import { checkCapacity } from "../infra/capacity";
import { SingleVpsConfig } from "../infra/config/schema";
import { Host } from "../infra/hosts";
import { publicRoutes } from "../infra/publicRoutes";
import { ContainerTarget, NetworkAttachment } from "../infra/workload";
import { bridgeNetwork, prepareHost } from "./shared/hosts";
import { hostOperations } from "./shared/operations";
import { StackOutputs, stackOutputs } from "./shared/outputs";
import { buildWorkloads, plannedContainers, plannedSandboxes, planWorkloads } from "./shared/workloads";

const NETWORKS = { internal: "openclaw-net", proxy: "proxy-net", egress: "egress-net" } as const;

export function singleVps(config: SingleVpsConfig): StackOutputs {
  // 1. Config → plan, checked before anything is registered.
  const tunnel = config.ingress.mode === "cloudflare-tunnel";
  const plan = planWorkloads(config);
  const ingressPlan = { name: tunnel ? "openclaw-tunnel" : "openclaw-caddy", memoryMb: config.ingress.memoryMb };
  const planned = [...plannedContainers(plan), ingressPlan];
  checkCapacity({
    host: config.host.name, memoryKey: "openclaw:host.memoryMb", hostMemoryMb: config.host.memoryMb, reserveMb: config.capacity.hostReserveMb,
    containers: planned, sandboxes: plannedSandboxes(config),
  });

  // 2. The host and its baseline.
  const host = prepareHost(config.host, { adminAddresses: config.admin.addresses, web: tunnel ? "closed" : "cloudflare", swarm: false });
  const target = (name: string): ContainerTarget => ({ kind: "container", host, filesDir: `/opt/openclaw/${name}` });

  // 3. The workloads.
  const internal = bridgeNetwork(host, NETWORKS.internal, config.networks.internal, true);
  // With a tunnel nothing needs the internet on proxy-net: make it internal too (seed 002 §3).
  const proxy = bridgeNetwork(host, NETWORKS.proxy, config.networks.proxy, tunnel);
  const egress = bridgeNetwork(host, NETWORKS.egress, config.networks.egress, false);
  const { gateways } = buildWorkloads(config, plan, {
    target,
    internal: { name: internal.name }, internalSubnet: config.networks.internal,
    proxy: { name: proxy.name }, proxySubnet: config.networks.proxy,
    egress: { name: egress.name },
    routes: publicRoutes(config.ingress.domain, config.gateway.instances.map((i) => i.name), tunnel ? "subdomain" : "path"),
  });
  const ingress = ingressFor(config, host, gateways, { name: ingressPlan.name, target: target(ingressPlan.name), networks: { proxy: { name: proxy.name }, egress: { name: egress.name } } });

  // 4. Operations, derived from what runs on the host.
  hostOperations(host, {
    planned, gateways, backup: config.backup,
    alertWebhookUrl: config.alertWebhookUrl, backupPasswordRotation: config.rotation.backupPassword,
  });

  // 5. Outputs.
  return stackOutputs({
    config, hosts: [host], gateways, ingress,
    networks: Object.fromEntries(Object.entries(NETWORKS).map(([role, name]) => [role, { name, subnet: config.networks[role as keyof typeof NETWORKS] }])),
  });
}

interface IngressPlacement {
  name: string;
  target: ContainerTarget;
  networks: { proxy: NetworkAttachment; egress: NetworkAttachment };
}

/** Caddy behind Cloudflare's proxy (an A/AAAA record to the host), or a Cloudflare Tunnel (no inbound port). */
function ingressFor(config: SingleVpsConfig, host: Host, gateways: Gateway[], at: IngressPlacement): Pick<StackOutputs, "dnsRecordIds" | "tunnelId"> {
  const { ingress } = config;
  if (ingress.mode === "caddy") {
    new Caddy(at.name, {
      image: config.images.caddy, memoryMb: ingress.memoryMb, domain: ingress.domain,
      routes: gateways.map((g) => ({ pathPrefix: g.publicRoute.pathPrefix, upstream: g.upstream })),
      network: at.networks.proxy, target: at.target,
    });
    const record = new cloudflare.DnsRecord("openclaw-dns", {
      zoneId: ingress.cloudflareZoneId,
      name: ingress.domain,
      type: host.config.address.includes(":") ? "AAAA" : "A",
      content: host.config.address,
      proxied: true,
      ttl: 1,
    });
    return { dnsRecordIds: [record.id], tunnelId: null };
  }
  const tunnel = new CloudflareTunnel(at.name, {
    accountId: ingress.cloudflareAccountId,
    zoneId: ingress.cloudflareZoneId,
    routes: gateways.map((g) => ({ hostname: g.publicRoute.hostname, upstream: g.upstream })),
    image: config.images.cloudflared,
    memoryMb: ingress.memoryMb,
    // proxy-net reaches the gateways; egress-net reaches Cloudflare.
    networks: [at.networks.proxy, at.networks.egress],
    target: at.target,
  });
  return { dnsRecordIds: tunnel.dnsRecordIds, tunnelId: tunnel.tunnelId };
}
