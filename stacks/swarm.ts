/**
 * The swarm topology (seeds 000, 001): a Docker Swarm beside CapRover, every
 * sensitive service pinned to the trusted node. Failover is one config
 * change: `openclaw:trustedNode` → standby, then `pulumi up` restores the
 * gateway state there, moves the label (the services follow), and points
 * DNS at it (docs/operations.md).
 */
import { posix } from "node:path";
import * as cloudflare from "@pulumi/cloudflare";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { CloudflareTunnel } from "../components/cloudflareTunnel";
import { Gateway, GATEWAY_UID, gatewayDirs } from "../components/gateway";
import { NfsShare } from "../components/nfsShare";
import { Operations } from "../components/operations";
import { StateRestore } from "../components/stateRestore";
import { renderPlacementCheckScript, SwarmCluster, TRUSTED_CONSTRAINT } from "../components/swarmCluster";
import { SystemdUnit } from "../components/systemdUnit";
import { checkCapacity } from "../infra/capacity";
import { SwarmConfig, SwarmNodeConfig } from "../infra/config/schema";
import { hostFile } from "../infra/files";
import { asRoot, connectHost, Host } from "../infra/hosts";
import { publicRoutes } from "../infra/publicRoutes";
import { NetworkAttachment, WorkloadTarget } from "../infra/workload";
import { HostPreparation, prepareHost } from "./shared/hosts";
import { StackOutputs, stackOutputs } from "./shared/outputs";
import { buildWorkloads, plannedContainers, plannedSandboxes, planWorkloads } from "./shared/workloads";

export const CAPROVER_NETWORK = "captain-overlay-network";
const NETWORKS = { internal: "openclaw-net", egress: "openclaw-egress-net", proxy: "openclaw-proxy-net" } as const;
const CAPTAIN_DATA_REASON = "CapRover's captain container runs as root and must own its data directory (seed 000 §5)";

const RUN_DIRS_TMPFILES = "/etc/tmpfiles.d/openclaw-swarm.conf";

/** tmpfiles.d(5) lines for the socket proxy's listener directories (the parent root-only traversable, as in container mode). */
export function renderRunDirsTmpfiles(instanceDirs: string[]): string {
  const parents = [...new Set(instanceDirs.map((d) => posix.dirname(d)))];
  return ["# Rendered by openclaw-infra (stacks/swarm.ts): bind sources of the socket proxy and the gateways.",
    ...parents.map((d) => `d ${d} 0711 root root -`), ...instanceDirs.map((d) => `d ${d} 0755 root root -`), ""].join("\n");
}

/** The managers that mount the NFS export: as configured, or every manager but the server. */
export function nfsClientNames(config: SwarmConfig): string[] {
  if (!config.nfs) return [];
  const server = config.nfs.server;
  return config.nfs.clients ?? config.nodes.filter((n) => n.role === "manager" && n.name !== server).map((n) => n.name);
}

/**
 * One node's firewall: SSH from the admins; Swarm ports and ESP from the
 * other nodes only; NFS on the server from its clients only; 80/443 from
 * Cloudflare only on the nodes that can hold the trust label (trusted and
 * standby), so a failover changes no firewall, and only with CapRover ingress.
 */
export function swarmFirewall(config: SwarmConfig, node: SwarmNodeConfig): HostPreparation {
  const address = (name: string) => config.nodes.find((n) => n.name === name)!.address;
  const ingressNode = node.name === config.trustedNode || node.name === config.standbyNode;
  return {
    adminAddresses: config.admin.addresses,
    web: config.ingress.mode === "caprover" && ingressNode ? "cloudflare" : "closed",
    swarmPeers: config.nodes.filter((n) => n.name !== node.name).map((n) => n.address),
    nfsClients: config.nfs?.server === node.name ? nfsClientNames(config).map(address) : [],
    swarm: true,
  };
}

/** The shared outputs plus the swarm's own (contract 1.1; docs/outputs.md). */
export interface SwarmOutputs extends StackOutputs {
  nodeRoles: Record<string, "manager" | "worker">;
  trustedNode: string;
  standbyNode: string | null;
  serviceNames: string[];
  networkIds: Record<string, pulumi.Output<string>>;
  /** Secret: the key `docker swarm unlock` asks for after a manager restarts (autolock). */
  swarmUnlockKey: pulumi.Output<string>;
}

export function swarm(config: SwarmConfig): SwarmOutputs {
  // 1. Config → plan, checked before anything is registered: everything runs on the trusted node.
  const tunnel = config.ingress.mode === "cloudflare-tunnel";
  const trustedIndex = config.nodes.findIndex((n) => n.name === config.trustedNode);
  const trustedConfig = config.nodes[trustedIndex]!;
  const plan = planWorkloads(config);
  const planned = [...plannedContainers(plan), ...(tunnel ? [{ name: "openclaw-tunnel", memoryMb: config.ingress.memoryMb }] : [])];
  checkCapacity({
    host: trustedConfig.name, memoryKey: `openclaw:nodes[${trustedIndex}].memoryMb`, hostMemoryMb: trustedConfig.memoryMb,
    reserveMb: config.capacity.hostReserveMb, containers: planned, sandboxes: plannedSandboxes(config),
  });

  // 2. Every node with its firewall and baseline; the NFS share; the cluster.
  const hosts = new Map(config.nodes.map((n) => [n.name, prepareHost(n, swarmFirewall(config, n))]));
  const host = (name: string): Host => hosts.get(name)!;
  const trusted = host(config.trustedNode);
  if (config.nfs) {
    const server = config.nfs.server;
    new NfsShare("captain-data", {
      server: host(server),
      serverAddress: host(server).config.address,
      clients: nfsClientNames(config).map((name) => ({ host: host(name), address: host(name).config.address })),
      path: config.nfs.exportPath,
      noRootSquashBecause: config.nfs.exportPath === "/captain/data" ? CAPTAIN_DATA_REASON : undefined,
    });
  }
  // The label moves only after the state is restored on the trusted node (step 4); the promise
  // breaks the cycle: the restore needs the gateways' paths, the gateways need the cluster.
  let stateRestored!: (r: pulumi.Resource) => void;
  const restore = new Promise<pulumi.Resource>((resolve) => { stateRestored = resolve; });
  const cluster = new SwarmCluster("swarm", {
    nodes: config.nodes.map((n) => ({ name: n.name, role: n.role, address: n.address, labels: n.labels, host: host(n.name) })),
    trustedNode: config.trustedNode,
    mode: config.swarm.mode,
    autolock: config.swarm.autolock,
    labelsAfter: [restore],
  }, { dependsOn: [...hosts.values()].flatMap((h) => h.ready) });

  // 3. The workloads, as services pinned to the trusted node. Swarm objects are made through the
  // trusted node's daemon (a manager): after a failover no call goes to the node that failed.
  const swarmApi = connectHost({ ...trustedConfig, name: "swarm-api" }).docker;
  const overlay = (name: string, subnet: string, internal: boolean) => new docker.Network(name, {
    name,
    driver: "overlay",
    // Not attachable: a `docker run` container (a sandbox) can never join it (seed 000 §2).
    attachable: false,
    internal,
    // IPsec between nodes (CIS 7.3): needs ESP open between peers (FirewallRules).
    options: { encrypted: "true" },
    ipamConfigs: [{ subnet }],
  }, { provider: swarmApi, dependsOn: [cluster.ready] });
  const internal = overlay(NETWORKS.internal, config.overlaySubnet, true);
  const egress = overlay(NETWORKS.egress, config.egressSubnet, false);
  // CapRover's overlay is theirs: only attached to, never created or changed.
  const proxy: { attachment: NetworkAttachment; subnet: string } = tunnel
    ? { attachment: { name: overlay(NETWORKS.proxy, config.ingress.proxySubnet, true).name }, subnet: config.ingress.proxySubnet }
    : { attachment: { name: CAPROVER_NETWORK }, subnet: config.ingress.caproverSubnet! };
  const target = (): WorkloadTarget => ({ kind: "swarm", provider: swarmApi, constraints: [TRUSTED_CONSTRAINT] });
  const { gateways, socketProxy } = buildWorkloads(config, plan, {
    target,
    internal: { name: internal.name }, internalSubnet: config.overlaySubnet,
    proxy: proxy.attachment, proxySubnet: proxy.subnet,
    egress: { name: egress.name },
    // One CapRover app (or tunnel hostname) per instance: each instance on its own host name.
    routes: publicRoutes(config.domain, config.gateway.instances.map((i) => i.name), "subdomain"),
  });
  const ingress = ingressFor(config, trustedConfig, gateways, { target: target(), networks: [proxy.attachment, { name: egress.name }] });

  // 4. Operations on the trusted node: timers, and the restore that runs when the trust moves.
  // Stable names: a failover updates them in place (new connection), nothing waits on the old node.
  const operations = new Operations("trusted-ops", {
    host: trusted,
    backup: { ...config.backup, sources: gateways.flatMap((g) => g.backupSources), onlyWhereRunning: gateways.map((g) => g.hostName) },
    watchdog: { containers: planned.map((c) => c.name), restartThreshold: 3, diskPercent: 85, memoryPercent: 90, swapPercent: 50 },
    gateways: gateways.map((g) => g.hostName),
    tokenFiles: [],
    alertWebhookUrl: config.alertWebhookUrl,
    backupPasswordRotation: config.rotation.backupPassword,
  }, { dependsOn: trusted.ready });
  // Every 5 minutes: a pinned service no node can take fails this unit, naming the scheduler's reason.
  const placementCheck = "/usr/local/sbin/openclaw-placement-check";
  const placementScript = hostFile("trusted-placement-check-script", trusted, {
    path: placementCheck, content: renderPlacementCheckScript(planned.map((c) => c.name)), mode: "0700", owner: "root:root", secret: false,
  }, { dependsOn: trusted.ready });
  new SystemdUnit("trusted-placement-check", {
    host: trusted,
    unitName: "openclaw-placement-check",
    service: { description: "OpenClaw pinned services placement check", type: "oneshot", execStart: [placementCheck], hardening: "root-task", readWritePaths: [] },
    timer: { description: "OpenClaw pinned services placement check", onCalendar: "*:0/5", randomizedDelaySec: 30 },
  }, { dependsOn: [placementScript] });

  // Bind sources must exist on the node before a task can start (a service cannot create them). The
  // socket proxy's listener directories live under /run, which a reboot empties: systemd-tmpfiles
  // re-creates them at boot, before Docker starts the tasks that bind them.
  const dirs = plan.gateways.flatMap((g) => Object.values(gatewayDirs(g.dataRoot)));
  const socketDirs = Object.values(socketProxy.access).map((a) => a.bind.hostPath);
  const tmpfiles = hostFile("trusted-run-dirs", trusted, {
    path: RUN_DIRS_TMPFILES, content: renderRunDirsTmpfiles(socketDirs), mode: "0644", owner: "root:root", secret: false,
  }, { dependsOn: trusted.ready });
  const gatewayDirsReady = new command.remote.Command("trusted-dirs", {
    connection: trusted.connection,
    create: asRoot(`set -eu; install -d -o ${GATEWAY_UID} -g ${GATEWAY_UID} -m 0700 ${dirs.join(" ")}; systemd-tmpfiles --create ${RUN_DIRS_TMPFILES}`),
  }, { dependsOn: [tmpfiles] });
  stateRestored(new StateRestore("trusted-state", {
    host: trusted,
    repository: config.backup.repository,
    passwordFile: operations.passwordFile,
    paths: gateways.flatMap((g) => g.backupSources),
    dependsOn: [operations, gatewayDirsReady],
  }));

  // 5. Outputs: the shared shape, plus the swarm's own.
  return {
    ...stackOutputs({
      config, hosts: [...hosts.values()], gateways, ingress,
      networks: {
        internal: { name: NETWORKS.internal, subnet: config.overlaySubnet },
        proxy: { name: tunnel ? NETWORKS.proxy : CAPROVER_NETWORK, subnet: proxy.subnet },
        egress: { name: NETWORKS.egress, subnet: config.egressSubnet },
      },
    }),
    nodeRoles: Object.fromEntries(config.nodes.map((n) => [n.name, n.role])),
    trustedNode: config.trustedNode,
    standbyNode: config.standbyNode ?? null,
    serviceNames: planned.map((c) => c.name),
    networkIds: { [NETWORKS.internal]: internal.id, [NETWORKS.egress]: egress.id },
    swarmUnlockKey: cluster.unlockKey,
  };
}

/** CapRover's nginx behind Cloudflare's proxy (a DNS record to the trusted node), or a Cloudflare Tunnel on it. */
function ingressFor(config: SwarmConfig, trusted: SwarmNodeConfig, gateways: Gateway[], at: { target: WorkloadTarget; networks: NetworkAttachment[] }):
  Pick<StackOutputs, "dnsRecordIds" | "tunnelId"> {
  if (config.ingress.mode === "caprover") {
    const address = trusted.publicAddress ?? trusted.address;
    // Follows the trusted node: a failover's `pulumi up` updates this record.
    const records = gateways.map((g, i) => new cloudflare.DnsRecord(i === 0 ? "openclaw-dns" : `openclaw-dns-${g.publicRoute.instance}`, {
      zoneId: config.cloudflareZoneId,
      name: g.publicRoute.hostname,
      type: address.includes(":") ? "AAAA" : "A",
      content: address,
      proxied: true,
      ttl: 1,
    }));
    return { dnsRecordIds: records.map((r) => r.id), tunnelId: null };
  }
  const tunnel = new CloudflareTunnel("openclaw-tunnel", {
    accountId: config.ingress.cloudflareAccountId!,
    zoneId: config.cloudflareZoneId,
    routes: gateways.map((g) => ({ hostname: g.publicRoute.hostname, upstream: g.upstream })),
    image: config.images.cloudflared,
    memoryMb: config.ingress.memoryMb,
    networks: at.networks,
    target: at.target,
  });
  return { dnsRecordIds: tunnel.dnsRecordIds, tunnelId: tunnel.tunnelId };
}
