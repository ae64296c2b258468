/**
 * SocketProxy: the only workload that mounts docker.sock. It runs the strict
 * proxy in ./socketProxyServer.js (our own, tested against hostile requests
 * in tests/socketProxy.test.ts) on an internal network, never published.
 *
 * What it prevents: creating privileged containers, added capabilities,
 * devices, host or container namespaces, any network but none, binds outside
 * the sandbox workspace root, named volumes, published ports, unbounded
 * memory; touching any container that is not a labelled sandbox (inspect,
 * archive, exec, logs, remove); image pulls, builds, volumes, networks,
 * swarm, secrets, events, info.
 * What it does not prevent: anything a sandbox container itself can do
 * within those limits (kernel exploits from an unprivileged container),
 * a caller creating many sandboxes (the gateway's maxConcurrent and the
 * memory cap bound it), or reading the env of sandbox containers.
 * Mounting the socket read-only does not stop writes through it (it is a
 * socket); the policy above is the boundary.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { deployWorkload, NetworkAttachment, nodeHttpHealthcheck, WorkloadTarget } from "../infra/workload";

export const SOCKET_PROXY_PORT = 2375;
const SERVER_PATH = "/opt/socket-proxy/server.js";
const POLICY_PATH = "/etc/socket-proxy/policy.json";
export const SANDBOX_LABEL = "openclaw.sandbox";
export const SANDBOX_NAME_PREFIX = "openclaw-sbx-";

export interface SocketProxyPolicy {
  listen: { host?: string; port?: number; path?: string };
  upstreamSocket: string;
  sandboxLabel: string;
  sandboxNamePrefix: string;
  allowedBindRoots: string[];
  maxMemoryBytes: number;
}

export function renderSocketProxyPolicy(options: { allowedBindRoots: string[]; sandboxMemoryMb: number; listen?: SocketProxyPolicy["listen"]; upstreamSocket?: string }): string {
  for (const root of options.allowedBindRoots) {
    if (!/^\/[A-Za-z0-9._/-]+[^/]$/.test(root) || root.includes("..") || root.split("/").length < 3) {
      throw new Error(`socket proxy: bind root ${root} must be an absolute directory at least two levels deep`);
    }
  }
  const policy: SocketProxyPolicy = {
    listen: options.listen ?? { host: "0.0.0.0", port: SOCKET_PROXY_PORT },
    upstreamSocket: options.upstreamSocket ?? "/var/run/docker.sock",
    sandboxLabel: SANDBOX_LABEL,
    sandboxNamePrefix: SANDBOX_NAME_PREFIX,
    allowedBindRoots: options.allowedBindRoots,
    maxMemoryBytes: options.sandboxMemoryMb * 1024 * 1024,
  };
  return JSON.stringify(policy, null, 2) + "\n";
}

/** The proxy program, as shipped into the container. */
export function socketProxyServerSource(): string {
  return readFileSync(join(__dirname, "socketProxyServer.js"), "utf8");
}

export interface SocketProxyArgs {
  image: pulumi.Input<string>;
  /** Sandbox workspace roots of every gateway instance: the only bind sources allowed. */
  allowedBindRoots: string[];
  sandboxMemoryMb: number;
  network: NetworkAttachment;
  memoryMb: number;
  cpus: number;
  target: WorkloadTarget;
}

export class SocketProxy extends pulumi.ComponentResource {
  /** `tcp://<name>:2375`: the DOCKER_HOST for gateways. */
  readonly dockerHost: string;
  readonly policy: string;

  constructor(name: string, args: SocketProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openclaw:infra:SocketProxy", name, {}, opts);
    this.dockerHost = `tcp://${name}:${SOCKET_PROXY_PORT}`;
    this.policy = renderSocketProxyPolicy({ allowedBindRoots: args.allowedBindRoots, sandboxMemoryMb: args.sandboxMemoryMb });
    deployWorkload({
      name,
      image: args.image,
      command: ["node", SERVER_PATH, POLICY_PATH],
      networks: [args.network],
      files: [
        { path: SERVER_PATH, content: socketProxyServerSource(), secret: false, uid: 0, gid: 0, mode: "0444" },
        { path: POLICY_PATH, content: this.policy, secret: false, uid: 0, gid: 0, mode: "0444" },
      ],
      binds: [{ hostPath: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true }],
      memoryMb: args.memoryMb,
      cpus: args.cpus,
      readOnlyRoot: true,
      healthcheck: nodeHttpHealthcheck(`http://127.0.0.1:${SOCKET_PROXY_PORT}/_ping`, 5),
      labels: { "openclaw.role": "socket-proxy" },
    }, args.target, this);
    this.registerOutputs({ dockerHost: this.dockerHost });
  }
}
