/**
 * The hosts and their baseline: a pinned connection, the firewall and the
 * hardening every host gets before any workload. Workloads on the host wait
 * for both (Host.ready).
 */
import * as docker from "@pulumi/docker";
import { FirewallOptions, FirewallRules } from "../../components/firewallRules";
import { HostBaseline } from "../../components/hostBaseline";
import { HostConfig } from "../../infra/config/schema";
import { connectHost, Host } from "../../infra/hosts";

export interface HostPreparation extends Omit<FirewallOptions, "sshPort"> {
  /** Docker in Swarm mode (daemon.json without live-restore). */
  swarm: boolean;
}

export function prepareHost(config: HostConfig, preparation: HostPreparation): Host {
  const host = connectHost(config);
  const { swarm, ...firewall } = preparation;
  const rules = new FirewallRules(`${config.name}-firewall`, { host, sshPort: config.sshPort, ...firewall });
  const baseline = new HostBaseline(`${config.name}-baseline`, { host, sshPort: config.sshPort, adminAddresses: preparation.adminAddresses, swarm });
  host.ready.push(rules, baseline);
  return host;
}

/** A bridge network on the host, after the host is ready. */
export function bridgeNetwork(host: Host, name: string, subnet: string, internal: boolean): docker.Network {
  return new docker.Network(name, {
    name,
    driver: "bridge",
    internal,
    ipamConfigs: [{ subnet }],
    // Containers on one network still may not talk unless listed on it (icc stays on per network).
    options: { "com.docker.network.bridge.enable_icc": "true" },
  }, { provider: host.docker, dependsOn: host.ready });
}
