/**
 * One explicit way into each host: a docker provider over SSH and the SSH
 * connection remote Commands use, both pinned to the host key from config.
 * A Host also carries what its workloads must wait for (`ready`: firewall and
 * baseline) and the containers deployed on it, so the watchdog and the
 * capacity check are derived from what exists.
 */
import { isIP } from "node:net";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { HostConfig } from "./config/schema";

export interface DeployedContainer {
  name: string;
  memoryMb: number;
}

export interface Host {
  /** Host name from config: the `target` of files placed on it. */
  name: string;
  config: HostConfig;
  docker: docker.Provider;
  connection: command.types.input.remote.ConnectionArgs;
  /** Resources every workload on this host waits for (the firewall and the baseline). */
  ready: pulumi.Resource[];
  /** Containers deployed on this host, in order; filled by deployWorkload. */
  containers: DeployedContainer[];
}

/** The known_hosts line for a host: `[addr]:port` unless the port is 22 (ssh's own lookup key). */
export function knownHostsEntry(host: HostConfig): string {
  const name = host.sshPort === 22 ? host.address : `[${host.address}]:${host.sshPort}`;
  return `${name} ${host.hostKey}`;
}

/**
 * The docker CLI reaches the daemon with the system ssh; these options make
 * that ssh trust exactly the configured host key and nothing else.
 */
export function dockerSshOptions(host: HostConfig): string[] {
  return [
    "-o", "StrictHostKeyChecking=yes",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", `KnownHostsCommand=/bin/echo ${knownHostsEntry(host)}`,
    "-o", "BatchMode=yes",
  ];
}

export function connectHost(host: HostConfig, parent?: pulumi.Resource): Host {
  const provider = new docker.Provider(`${host.name}-docker`, {
    host: `ssh://${host.sshUser}@${isIP(host.address) === 6 ? `[${host.address}]` : host.address}:${host.sshPort}`,
    sshOpts: dockerSshOptions(host),
  }, { parent });
  return {
    name: host.name,
    config: host,
    docker: provider,
    // No privateKey: the SSH agent of whoever runs `pulumi up` authenticates,
    // so no private key ever sits in stack config or state.
    connection: { host: host.address, port: host.sshPort, user: host.sshUser, hostKey: host.hostKey },
    ready: [],
    containers: [],
  };
}

/**
 * Runs a script as root through passwordless sudo: the SSH user is not root
 * (HostBaseline forbids root login). The script is an argument, so it must
 * never hold a secret; secrets travel on stdin.
 */
export function asRoot(script: string): string {
  return `sudo -n bash -c '${script.replace(/'/g, "'\\''")}'`;
}
