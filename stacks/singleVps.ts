/**
 * The single-vps topology (seed 002): one host running the socket proxy,
 * the Squid egress proxy, LiteLLM and N gateway instances in Docker, with
 * ingress through Caddy or a Cloudflare Tunnel.
 */
import * as cloudflare from "@pulumi/cloudflare";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { Caddy } from "../components/caddy";
import { CloudflareTunnel } from "../components/cloudflareTunnel";
import { EgressProxy } from "../components/egressProxy";
import { FirewallRules } from "../components/firewallRules";
import { Gateway } from "../components/gateway";
import { HostBaseline } from "../components/hostBaseline";
import { Operations } from "../components/operations";
import { LiteLlm, LITELLM_PORT } from "../components/litellm";
import { SocketProxy } from "../components/socketProxy";
import { OUTPUTS_CONTRACT_VERSION } from "../contract/outputs";
import { checkCapacity } from "../infra/capacity";
import { PROVIDERS, SingleVpsConfig } from "../infra/config";
import { connectHost } from "../infra/hosts";
import { WorkloadTarget } from "../infra/workload";
import type { StackOutputs } from "./index";

const NAMES = {
  socketProxy: "openclaw-docker-proxy",
  egress: "openclaw-egress",
  litellm: "openclaw-litellm",
  caddy: "openclaw-caddy",
  tunnel: "openclaw-tunnel",
};
const gatewayName = (instance: string) => `openclaw-${instance}`;
const dataRoot = (instance: string) => `/srv/openclaw/${instance}`;

export function singleVps(config: SingleVpsConfig): StackOutputs {
  const instances = config.gateway.instances;
  const ingressContainerMb = 128;
  checkCapacity({
    host: config.host.name,
    hostMemoryMb: config.host.memoryMb,
    reserveMb: config.capacity.hostReserveMb,
    containers: [
      ...instances.map((i) => ({ name: gatewayName(i.name), memoryMb: config.gateway.memoryMb })),
      { name: NAMES.litellm, memoryMb: config.litellm.memoryMb },
      { name: NAMES.socketProxy, memoryMb: config.socketProxy.memoryMb },
      { name: NAMES.egress, memoryMb: config.egress.memoryMb },
      { name: config.ingress.mode === "caddy" ? NAMES.caddy : NAMES.tunnel, memoryMb: ingressContainerMb },
    ],
    sandboxes: { instances: instances.length, maxConcurrent: config.gateway.sandbox.maxConcurrent, memoryMb: config.gateway.sandbox.memoryMb },
  });

  const host = connectHost(config.host);
  const tunnelIngress = config.ingress.mode === "cloudflare-tunnel";
  const firewall = new FirewallRules(`${config.host.name}-firewall`, {
    host,
    sshPort: config.host.sshPort,
    adminAddresses: config.admin.addresses,
    web: tunnelIngress ? "closed" : "cloudflare",
  });
  const baseline = new HostBaseline(`${config.host.name}-baseline`, { host, sshPort: config.host.sshPort, adminAddresses: config.admin.addresses, swarm: false });
  // Workloads wait for a firewalled, hardened host with Docker configured.
  const onHost = { provider: host.docker, dependsOn: [firewall, baseline] };
  const target = (name: string): Extract<WorkloadTarget, { kind: "container" }> => ({ kind: "container", host, filesDir: `/opt/openclaw/${name}` });

  const network = (name: string, subnet: string, internal: boolean) => new docker.Network(name, {
    name,
    driver: "bridge",
    internal,
    ipamConfigs: [{ subnet }],
    // Containers on one network still may not talk unless listed on it (icc stays on per network).
    options: { "com.docker.network.bridge.enable_icc": "true" },
  }, onHost);
  const internalNet = network("openclaw-net", config.networks.internal, true);
  // With a tunnel nothing needs the internet on proxy-net: make it internal too (seed 002 §3).
  const proxyNet = network("proxy-net", config.networks.proxy, tunnelIngress);
  const egressNet = network("egress-net", config.networks.egress, false);

  const socketProxy = new SocketProxy(NAMES.socketProxy, {
    image: config.images.socketProxy,
    allowedBindRoots: instances.map((i) => `${dataRoot(i.name)}/sandboxes`),
    sandboxMemoryMb: config.gateway.sandbox.memoryMb,
    network: { name: internalNet.name },
    memoryMb: config.socketProxy.memoryMb,
    cpus: config.socketProxy.cpus,
    target: target(NAMES.socketProxy),
  });

  const egress = new EgressProxy(NAMES.egress, {
    allowDomains: [...new Set([...config.litellm.models.flatMap((m) => [...PROVIDERS[m.provider].domains]), ...config.egress.extraDomains])],
    clientSubnets: [config.networks.internal],
    // proxy.proxyUrl clears NO_PROXY, so the gateways' calls to LiteLLM arrive here.
    internalDestinations: [{ host: NAMES.litellm, port: LITELLM_PORT }],
    image: config.images.egressProxy,
    internalNetwork: { name: internalNet.name },
    egressNetwork: { name: egressNet.name },
    memoryMb: config.egress.memoryMb,
    cpus: config.egress.cpus,
    target: target(NAMES.egress),
  });

  const litellm = new LiteLlm(NAMES.litellm, {
    image: config.images.litellm,
    models: config.litellm.models,
    providerApiKeys: config.providerApiKeys,
    egressProxyUrl: egress.url,
    network: { name: internalNet.name },
    memoryMb: config.litellm.memoryMb,
    cpus: config.litellm.cpus,
    masterKeyRotation: config.rotation.litellmMasterKey,
    target: target(NAMES.litellm),
  });

  const origin = `https://${config.ingress.domain}`;
  const routes = instances.map((i) => ({ instance: i.name, upstream: `${gatewayName(i.name)}:${config.gateway.port}` }));
  const gateways = instances.map((instance) => {
    const name = gatewayName(instance.name);
    const volume = new docker.Volume(`${name}-data`, { name: `${name}-data` }, onHost);
    const botToken = config.channelTokens[instance.name];
    return new Gateway(name, {
      image: config.images.gateway,
      port: config.gateway.port,
      exposure: {
        kind: "reverse-proxy",
        trustedProxies: [config.networks.proxy],
        allowedOrigins: tunnelIngress && instance !== instances[0] ? [`https://${instance.name}.${config.ingress.domain}`] : [origin],
      },
      dataRoot: dataRoot(instance.name),
      stateVolume: volume.name,
      dockerHost: socketProxy.dockerHost,
      egressProxyUrl: egress.url,
      modelProxy: {
        baseUrl: litellm.url,
        apiKey: litellm.masterKey,
        models: config.litellm.models.map((m) => m.name),
        primary: config.litellm.models[0]!.name,
      },
      telegram: botToken === undefined ? undefined : { botToken, allowFrom: instance.telegram?.allowFrom ?? [] },
      sandbox: config.gateway.sandbox,
      soul: config.gateway.soul,
      memoryMb: config.gateway.memoryMb,
      cpus: config.gateway.cpus,
      networks: [{ name: internalNet.name }, { name: proxyNet.name }],
      tokenRotation: `${config.rotation.gatewayToken}`,
      target: target(name),
    });
  });

  new Operations(`${config.host.name}-ops`, {
    host,
    backup: {
      repository: config.backup.repository,
      sources: [
        ...instances.map((i) => `/var/lib/docker/volumes/${gatewayName(i.name)}-data/_data`),
        ...instances.map((i) => `${dataRoot(i.name)}/workspace`),
      ],
      keepDaily: config.backup.keepDaily,
      onCalendar: config.backup.onCalendar,
    },
    watchdog: {
      containers: [NAMES.socketProxy, NAMES.egress, NAMES.litellm, ...instances.map((i) => gatewayName(i.name)), tunnelIngress ? NAMES.tunnel : NAMES.caddy],
      restartThreshold: 3, diskPercent: 85, memoryPercent: 90, swapPercent: 50,
    },
    gateways: instances.map((i) => gatewayName(i.name)),
    tokenFiles: instances.map((i) => `/opt/openclaw/${gatewayName(i.name)}/run/secrets/openclaw-gateway-token`),
    alertWebhookUrl: config.alertWebhookUrl,
    backupPasswordRotation: config.rotation.backupPassword,
  }, { dependsOn: [baseline] });

  let ingressOutputs: StackOutputs;
  if (config.ingress.mode === "caddy") {
    new Caddy(NAMES.caddy, { image: config.images.caddy, memoryMb: ingressContainerMb, domain: config.ingress.domain, routes, network: { name: proxyNet.name }, target: target(NAMES.caddy) });
    const record = new cloudflare.DnsRecord("openclaw-dns", {
      zoneId: config.ingress.cloudflareZoneId,
      name: config.ingress.domain,
      type: config.host.address.includes(":") ? "AAAA" : "A",
      content: config.host.address,
      proxied: true,
      ttl: 1,
    });
    ingressOutputs = { dnsRecordIds: [record.id], tunnelId: null };
  } else {
    const tunnel = new CloudflareTunnel(NAMES.tunnel, {
      accountId: config.ingress.cloudflareAccountId,
      zoneId: config.ingress.cloudflareZoneId,
      domain: config.ingress.domain,
      routes,
      image: config.images.cloudflared,
      memoryMb: ingressContainerMb,
      // proxy-net reaches the gateways; egress-net reaches Cloudflare.
      networks: [{ name: proxyNet.name }, { name: egressNet.name }],
      target: target(NAMES.tunnel),
    });
    ingressOutputs = { dnsRecordIds: tunnel.dnsRecordIds, tunnelId: tunnel.tunnelId };
  }

  const gatewayUrls = instances.map((instance, i) => {
    if (i === 0) return origin;
    return tunnelIngress ? `https://${instance.name}.${config.ingress.domain}` : `${origin}/${instance.name}/`;
  });
  const { caddy, cloudflared, ...workloadImages } = config.images;
  // The outputs contract (contract/outputs.schema.json): flat and non-secret, for StackReference consumers.
  return {
    contractVersion: OUTPUTS_CONTRACT_VERSION,
    topology: config.topology,
    openclawVersion: config.openclawVersion,
    gatewayUrls,
    hostAddresses: { [config.host.name]: config.host.address },
    tailnetNames: [],
    ...ingressOutputs,
    networkSubnets: { "openclaw-net": config.networks.internal, "proxy-net": config.networks.proxy, "egress-net": config.networks.egress },
    imageRefs: { ...workloadImages, ...(tunnelIngress ? { cloudflared } : { caddy }) },
    gatewayTokens: pulumi.secret(pulumi.all(gateways.map((g) => g.token))),
  };
}
