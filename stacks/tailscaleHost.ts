/**
 * The tailscale-host topology (seeds 003/004): OpenClaw on the host under
 * hardened units, each gateway on loopback, published only on the tailnet
 * by Tailscale Serve; UFW admits nothing but tailscale0.
 */
import * as pulumi from "@pulumi/pulumi";
import { FirewallRules } from "../components/firewallRules";
import { HostBaseline } from "../components/hostBaseline";
import { DEFAULT_NPM_REGISTRY, HOST_PATHS, instancePaths, OpenclawHost } from "../components/openclawHost";
import { Operations } from "../components/operations";
import { Tailscale } from "../components/tailscale";
import { TailscaleHostConfig } from "../infra/config";
import { connectHost } from "../infra/hosts";
import { HOST_NODE } from "../infra/versions";
import type { StackOutputs } from "./index";

/** Where `op` lives once the operator installed the 1Password CLI (seed 003 B.2). */
const OP_BINARY = "/usr/bin/op";

export function tailscaleHost(config: TailscaleHostConfig): StackOutputs {
  const host = connectHost(config.host);
  const instances = config.gateway.instances.map((i, index) => ({ name: i.name, port: config.gateway.port + index }));
  const ports = instances.map((i) => i.port);
  const fqdn = `${config.tailscale.hostname}.${config.tailscale.tailnetDomain}`;
  const gatewayUrls = instances.map((i) => `https://${fqdn}:${i.port}`);

  // Tailscale first: once UFW closes everything but tailscale0, Pulumi itself arrives over the tailnet.
  const tailnet = new Tailscale(`${config.host.name}-tailscale`, {
    host,
    hostname: config.tailscale.hostname,
    tags: config.tailscale.tags,
    admins: config.tailscale.admins,
    groups: config.tailscale.groups,
    ports,
    sshPort: config.host.sshPort,
    authKeyExpirySeconds: config.tailscale.authKeyExpirySeconds,
  });
  const firewall = new FirewallRules(`${config.host.name}-firewall`, {
    host,
    sshPort: config.host.sshPort,
    adminAddresses: config.tailscale.bootstrapSsh ? config.admin.addresses : [],
    web: "closed",
    tailscaleOnly: true,
    tailnetPorts: ports,
    restrictOutbound: true,
  }, { dependsOn: [tailnet] });
  const baseline = new HostBaseline(`${config.host.name}-baseline`, { host, sshPort: config.host.sshPort, adminAddresses: config.admin.addresses, swarm: false });

  const onePassword = config.hostGateway.onePassword;
  const gateways = new OpenclawHost(`${config.host.name}-openclaw`, {
    host,
    version: config.openclawVersion,
    registry: DEFAULT_NPM_REGISTRY,
    instances,
    origins: gatewayUrls,
    memoryMb: config.gateway.memoryMb,
    tasksMax: config.hostGateway.tasksMax,
    sandbox: config.gateway.sandbox,
    soul: config.gateway.soul,
    tokenRotation: config.rotation.gatewayToken,
    onePassword: onePassword && config.opServiceAccountToken
      ? { vault: onePassword.vault, serviceAccountToken: config.opServiceAccountToken, opBinary: OP_BINARY }
      : undefined,
  }, { dependsOn: [baseline, firewall] });

  const paths = instances.map((i) => instancePaths(i.name));
  new Operations(`${config.host.name}-ops`, {
    host,
    backup: {
      repository: config.backup.repository,
      sources: paths.flatMap((p) => [p.stateDir, p.workspace]),
      keepDaily: config.backup.keepDaily,
      onCalendar: config.backup.onCalendar,
    },
    watchdog: { containers: [], units: paths.map((p) => p.unit), restartThreshold: 3, diskPercent: 85, memoryPercent: 90, swapPercent: 50 },
    gateways: instances.map((i) => i.name),
    auditRunner: {
      kind: "host",
      // Runs as root in a throwaway HOME; with op run the token only exists inside the unit, so a random one stands in.
      openclaw: `env HOME="$(mktemp -d)" OPENCLAW_CONFIG_PATH="${HOST_PATHS.etc}/\${gw}/openclaw.json"${onePassword ? ' OPENCLAW_GATEWAY_TOKEN="$(head -c 32 /dev/urandom | base64)"' : ""} ${HOST_PATHS.node} ${HOST_PATHS.current}/node_modules/openclaw/openclaw.mjs`,
    },
    healthUrls: instances.map((i) => `http://127.0.0.1:${i.port}/healthz`),
    integrityFiles: paths.map((p, index) => ({ path: p.soul, content: gateways.souls[instances[index]!.name]! })),
    // Seed 004 §6: audit every 6 h, restart-rate watch hourly, credential check daily.
    schedules: { "openclaw-audit": "00/6:00:00", "openclaw-watchdog": "hourly" },
    tokenFiles: onePassword ? paths.map((p) => p.opTokenFile) : paths.map((p) => p.tokenFile),
    alertWebhookUrl: config.alertWebhookUrl,
    backupPasswordRotation: config.rotation.backupPassword,
  }, { dependsOn: [gateways] });

  return {
    topology: config.topology,
    openclawVersion: config.openclawVersion,
    nodeVersion: HOST_NODE.version,
    tailnetHostName: fqdn,
    gatewayUrls,
    instances: instances.map((i, index) => ({ name: i.name, port: i.port, unit: `${paths[index]!.unit}.service`, user: paths[index]!.user, url: gatewayUrls[index] })),
    hosts: [{ name: config.host.name, address: config.host.address }],
    secretsMode: onePassword ? "op-run" : "files",
    gatewayTokens: pulumi.secret(pulumi.all(gateways.tokens)),
  };
}
