/**
 * The tailscale-host topology (seeds 003/004): OpenClaw on the host under
 * hardened units, each gateway on loopback, published only on the tailnet
 * by Tailscale Serve; UFW admits nothing but tailscale0.
 */
import * as pulumi from "@pulumi/pulumi";
import { HostEgressProxy } from "../components/hostEgressProxy";
import { HOST_PATHS, instancePaths, ONE_PASSWORD_DOMAINS, OpenclawHost } from "../components/openclawHost";
import { Operations } from "../components/operations";
import { Tailscale } from "../components/tailscale";
import { requiredDomains, TailscaleHostConfig } from "../infra/config/schema";
import { checkCapacity } from "../infra/capacity";
import { operatorNpmRegistry } from "../infra/npmRegistry";
import { directModelRouting } from "../infra/providers";
import { prepareHost } from "./shared/hosts";
import { OUTPUTS_CONTRACT_VERSION } from "../contract/outputs";
import { StackOutputs } from "./shared/outputs";

/** Where `op` lives once the operator installed the 1Password CLI (seed 003 B.2). */
const OP_BINARY = "/usr/bin/op";

export function tailscaleHost(config: TailscaleHostConfig): StackOutputs {
  // 1. Config → plan: one port, user, unit and URL per instance.
  const instances = config.gateway.instances.map((i, index) => ({ name: i.name, port: config.gateway.port + index, paths: instancePaths(i.name) }));
  const ports = instances.map((i) => i.port);
  const fqdn = `${config.tailscale.hostname}.${config.tailscale.tailnetDomain}`;
  const urls = instances.map((i) => `https://${fqdn}:${i.port}`);
  const onePassword = config.hostGateway.onePassword;
  // Every gateway and socket-proxy unit at its MemoryMax, plus each instance's worst case of sandboxes, must fit the host.
  checkCapacity({
    host: config.host.name, memoryKey: "openclaw:host.memoryMb", hostMemoryMb: config.host.memoryMb, reserveMb: config.capacity.hostReserveMb,
    containers: instances.flatMap((i) => [{ name: i.paths.unit, memoryMb: config.gateway.memoryMb }, { name: i.paths.proxyUnit, memoryMb: config.socketProxy.memoryMb }]),
    sandboxes: { instances: instances.length, maxConcurrent: config.gateway.sandbox.maxConcurrent, memoryMb: config.gateway.sandbox.memoryMb },
  });

  // 2. The host and its baseline: UFW admits only tailscale0 (and, while bootstrapping, SSH from the admins).
  const host = prepareHost(config.host, {
    adminAddresses: config.tailscale.bootstrapSsh ? config.admin.addresses : [],
    web: "closed",
    tailscaleOnly: true,
    tailnetPorts: ports,
    outbound: config.firewall.outbound,
    swarm: false,
  });

  // 3. The workloads: the tailnet (policy, key, join, serve), the loopback egress allowlist, the gateways on the host.
  new Tailscale(`${config.host.name}-tailscale`, {
    host,
    hostname: config.tailscale.hostname,
    tags: config.tailscale.tags,
    admins: config.tailscale.admins,
    groups: config.tailscale.groups,
    ports,
    sshPort: config.host.sshPort,
    authKeyExpirySeconds: config.tailscale.authKeyExpirySeconds,
  }, { dependsOn: host.ready });
  const egress = new HostEgressProxy(`${config.host.name}-egress`, {
    host,
    allowDomains: [...requiredDomains(config.models, config.channelTokens), ...(onePassword ? ONE_PASSWORD_DOMAINS : []), ...config.egress.extraDomains],
  }, { dependsOn: host.ready });
  const gateways = new OpenclawHost(`${config.host.name}-openclaw`, {
    host,
    version: config.openclawVersion,
    registry: operatorNpmRegistry(),
    instances,
    origins: urls,
    models: directModelRouting(config.models, config.providerApiKeys),
    telegram: Object.fromEntries(Object.entries(config.channelTokens).map(([instance, botToken]) => [instance, {
      botToken, allowFrom: config.gateway.instances.find((i) => i.name === instance)?.telegram?.allowFrom ?? [],
    }])),
    memoryMb: config.gateway.memoryMb,
    cpus: config.gateway.cpus,
    tasksMax: config.hostGateway.tasksMax,
    socketProxy: config.socketProxy,
    egressProxyUrl: egress.url,
    sandbox: config.gateway.sandbox,
    soul: config.gateway.soul,
    tokenRotation: config.rotation.gatewayToken,
    onePassword: onePassword && config.opServiceAccountToken
      ? { vault: onePassword.vault, serviceAccountToken: config.opServiceAccountToken, opBinary: OP_BINARY }
      : undefined,
  }, { dependsOn: [...host.ready, egress.ready] });

  // 4. Operations (seed 004 §6-7): the shared component, with host-install checks and schedules.
  new Operations(`${config.host.name}-ops`, {
    host,
    backup: { ...config.backup, sources: instances.flatMap((i) => [i.paths.stateDir, i.paths.workspace]) },
    watchdog: { containers: [], units: instances.map((i) => i.paths.unit), restartThreshold: 3, diskPercent: 85, memoryPercent: 90, swapPercent: 50 },
    gateways: instances.map((i) => i.name),
    auditRunner: {
      kind: "host",
      // Root, a throwaway HOME, the config with its secrets named as root-owned files (openclaw-audit-config);
      // with op run the token exists only inside the unit, so a random one stands in.
      openclaw: `env HOME="$(mktemp -d)" OPENCLAW_CONFIG_PATH="$(${HOST_PATHS.auditConfig} "\${gw}")"${onePassword ? ' OPENCLAW_GATEWAY_TOKEN="$(head -c 32 /dev/urandom | base64)"' : ""} ${HOST_PATHS.node} ${HOST_PATHS.current}/node_modules/openclaw/openclaw.mjs`,
    },
    healthUrls: instances.map((i) => `http://127.0.0.1:${i.port}/healthz`),
    integrityFiles: instances.map((i) => ({ path: i.paths.soul, content: gateways.souls[i.name]! })),
    // Audit every 6 h, restart-rate watch hourly; the credential check (token age) stays daily.
    schedules: { "openclaw-audit": "00/6:00:00", "openclaw-watchdog": "hourly" },
    tokenFiles: instances.map((i) => (onePassword ? i.paths.opTokenFile : i.paths.tokenFile)),
    alertWebhookUrl: config.alertWebhookUrl,
    backupPasswordRotation: config.rotation.backupPassword,
  }, { dependsOn: [gateways] });

  // 5. Outputs: the contract's shape (no DNS, tunnel, networks or images here: nothing runs in a container).
  return {
    contractVersion: OUTPUTS_CONTRACT_VERSION,
    topology: config.topology,
    openclawVersion: config.openclawVersion,
    gatewayUrls: urls,
    hostAddresses: { [host.name]: config.host.address },
    tailnetNames: [fqdn],
    dnsRecordIds: [],
    tunnelId: null,
    networkSubnets: {},
    imageRefs: {},
    gatewayTokens: pulumi.secret(pulumi.all(instances.map((i) => gateways.tokens[i.name] ?? pulumi.output("")))),
  };
}
