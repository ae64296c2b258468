/**
 * SocketProxy: the only workload that mounts docker.sock. It runs the strict
 * proxy in ./server.js (our own; proven against a real dockerd in
 * tests/socketProxy*.test.ts) with one unix-socket listener per gateway
 * instance. Each listener's directory is bind-mounted into its gateway only,
 * so an instance can reach no other instance's policy: the socket it can open
 * is its identity (nothing to spoof, no network to share). What the policy
 * prevents and what it does not: docs/components.md.
 */
import { readFileSync } from "node:fs";
import { join, posix } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { deployWorkload, LOG_OPTIONS, NetworkAttachment, WorkloadTarget } from "../../infra/workload";

export const SANDBOX_LABEL = "openclaw.sandbox";
/** OpenClaw's defaults (agents.defaults.sandbox.docker: containerPrefix, image, workdir); openclaw.json keeps them. */
export const SANDBOX_NAME_PREFIX = "openclaw-sbx-";
export const SANDBOX_IMAGE = "openclaw-sandbox:bookworm-slim";
export const SANDBOX_WORKDIR = "/workspace";
/** Docker Engine 20.10 (Debian 12's docker.io) speaks up to 1.41; older versions honour HostConfig at start. */
export const MIN_API_VERSION = "1.41";
/** Where a gateway sees its listener: DOCKER_HOST=unix://<this>/docker.sock. */
export const GATEWAY_SOCKET_DIR = "/run/openclaw-docker";
/** A small fixed heap: the proxy's memory bound (tests/socketProxy.fuzz.test.ts) does not wait for GC pressure. */
export const SERVER_NODE_FLAGS = ["--max-old-space-size=48", "--max-semi-space-size=2"];
const SERVER_PATH = "/opt/socket-proxy/server.js";
const POLICY_PATH = "/etc/socket-proxy/policy.json";
const PROXY_SOCKETS_DIR = "/run/socket-proxy";

export interface SocketProxyInstance {
  /** Gateway instance name; also the value of the sandbox's `openclaw.proxy.instance` label. */
  name: string;
  /**
   * The gateway's container name (Swarm mode: its service name): it may inspect itself (reduced) and
   * exec in itself as its own user.
   */
  gatewayContainer: string;
  /** Host directory of this instance's sandbox workspaces (same path in the gateway). */
  sandboxRoot: string;
}

export interface SandboxLimits { memoryMb: number; pidsLimit: number; cpus: number }

export interface SocketProxyPolicy {
  upstreamSocket: string;
  minApiVersion: string;
  logConfig: { Type: string; Config: Record<string, string> };
  instances: {
    name: string; listen: string; gatewayContainer: string | null; gatewayService: string | null; sandboxRoot: string; sandboxNamePrefix: string; images: string[];
    network: string; workdir: string; maxMemoryBytes: number; maxPids: number; maxNanoCpus: number;
  }[];
}

const instanceName = /^[a-z0-9][a-z0-9-]{0,30}$/;

/** The proxy's policy.json: one listener and one policy per gateway instance. */
export function renderSocketProxyPolicy(options: {
  instances: SocketProxyInstance[]; sandbox: SandboxLimits; sandboxImages?: string[]; socketsDir?: string; upstreamSocket?: string;
  /** Gateways are Swarm services: a gateway is a running task of its service, not a container name. Default false. */
  swarm?: boolean;
}): string {
  const names = new Set<string>();
  for (const inst of options.instances) {
    if (!instanceName.test(inst.name) || names.has(inst.name)) throw new Error(`socket proxy: instance name ${inst.name} must be unique and match ${instanceName}`);
    names.add(inst.name);
    const root = inst.sandboxRoot;
    if (!/^(\/[A-Za-z0-9._-]+){2,}$/.test(root) || root.split("/").includes("..") || posix.normalize(root) !== root) {
      throw new Error(`socket proxy: sandbox root ${root} must be a normalised absolute directory at least two levels deep`);
    }
  }
  const roots = options.instances.map((i) => i.sandboxRoot);
  for (const a of roots) for (const b of roots) {
    if (a !== b && b.startsWith(`${a}/`)) throw new Error(`socket proxy: sandbox root ${b} lies inside ${a}: instances would share workspaces`);
  }
  const policy: SocketProxyPolicy = {
    upstreamSocket: options.upstreamSocket ?? "/var/run/docker.sock",
    minApiVersion: MIN_API_VERSION,
    logConfig: { Type: "json-file", Config: LOG_OPTIONS },
    instances: options.instances.map((inst) => ({
      name: inst.name,
      listen: join(options.socketsDir ?? PROXY_SOCKETS_DIR, inst.name, "docker.sock"),
      gatewayContainer: options.swarm ? null : inst.gatewayContainer,
      gatewayService: options.swarm ? inst.gatewayContainer : null,
      sandboxRoot: inst.sandboxRoot,
      sandboxNamePrefix: SANDBOX_NAME_PREFIX,
      images: options.sandboxImages ?? [SANDBOX_IMAGE],
      network: "none",
      workdir: SANDBOX_WORKDIR,
      maxMemoryBytes: options.sandbox.memoryMb * 1024 * 1024,
      maxPids: options.sandbox.pidsLimit,
      maxNanoCpus: Math.round(options.sandbox.cpus * 1e9),
    })),
  };
  return JSON.stringify(policy, null, 2) + "\n";
}

/** The proxy program, as shipped into the container. */
export function socketProxyServerSource(): string {
  return readFileSync(join(__dirname, "server.js"), "utf8");
}

export interface SocketProxyArgs {
  image: pulumi.Input<string>;
  /** One listener and policy per gateway instance. */
  instances: SocketProxyInstance[];
  /** Caps every sandbox create must stay within (the gateways' sandbox settings). */
  sandbox: SandboxLimits;
  /** Host directory holding one sub-directory (and socket) per instance. Default /run/openclaw/docker-proxy. */
  hostSocketsDir?: string;
  network: NetworkAttachment;
  memoryMb: number;
  cpus: number;
  target: WorkloadTarget;
}

/** What a gateway needs to reach its own listener. */
export interface GatewayDockerAccess {
  /** DOCKER_HOST inside the gateway. */
  dockerHost: string;
  /** Bind of the instance's socket directory into the gateway (read-only: connecting is not writing). */
  bind: { hostPath: string; target: string };
}

export class SocketProxy extends pulumi.ComponentResource {
  readonly policy: string;
  /** Per instance name: DOCKER_HOST and the bind the gateway mounts. */
  readonly access: Record<string, GatewayDockerAccess>;

  constructor(name: string, args: SocketProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("openclaw:infra:SocketProxy", name, {}, opts);
    const hostSockets = args.hostSocketsDir ?? "/run/openclaw/docker-proxy";
    this.policy = renderSocketProxyPolicy({ instances: args.instances, sandbox: args.sandbox, swarm: args.target.kind === "swarm" });
    this.access = Object.fromEntries(args.instances.map((inst) => [inst.name, {
      dockerHost: `unix://${GATEWAY_SOCKET_DIR}/docker.sock`,
      bind: { hostPath: `${hostSockets}/${inst.name}`, target: GATEWAY_SOCKET_DIR },
    }]));
    deployWorkload({
      name,
      image: args.image,
      command: ["node", ...SERVER_NODE_FLAGS, SERVER_PATH, POLICY_PATH],
      networks: [args.network],
      files: [
        { path: SERVER_PATH, content: socketProxyServerSource(), secret: false, uid: 0, gid: 0, mode: "0444" },
        { path: POLICY_PATH, content: this.policy, secret: false, uid: 0, gid: 0, mode: "0444" },
      ],
      binds: [
        { hostPath: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true },
        { hostPath: hostSockets, target: PROXY_SOCKETS_DIR, readOnly: false, ensure: { uid: 0, gid: 0, mode: "0711" } },
        // Workspace roots read-only: the proxy proves a bind source free of symlinks before the daemon sees it.
        ...args.instances.map((inst) => ({ hostPath: inst.sandboxRoot, target: inst.sandboxRoot, readOnly: true })),
      ],
      memoryMb: args.memoryMb,
      cpus: args.cpus,
      readOnlyRoot: true,
      healthcheck: {
        test: ["CMD", "node", "-e", `require('http').get({socketPath:'${join(PROXY_SOCKETS_DIR, args.instances[0]!.name, "docker.sock")}',path:'/_ping'},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1))`],
        intervalSeconds: 30, timeoutSeconds: 5, retries: 3, startPeriodSeconds: 5,
      },
      labels: { "openclaw.role": "socket-proxy" },
    }, args.target, this);
    this.registerOutputs({ access: this.access });
  }
}
