/**
 * Runs one hardened workload either as a Docker container on a host or as a
 * Swarm service pinned by placement constraints. Components describe what
 * they run (WorkloadSpec); this module owns how, so both modes get the same
 * defaults: limits, healthcheck, restart policy, dropped capabilities,
 * no-new-privileges, log rotation, files delivered read-only.
 */
import { createHash } from "node:crypto";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { hostFile, pathSlug, serviceFile, ServiceFileSpec } from "./files";
import { asRoot, Host } from "./hosts";
import { looksLikeSecretName } from "./secrets";

/** A file inside the workload; secret content is readable only by the workload's user, never env. */
export type WorkloadFile = ServiceFileSpec;

export interface NetworkAttachment {
  name: pulumi.Input<string>;
  aliases?: string[];
}

export interface Healthcheck {
  test: string[];
  intervalSeconds: number;
  timeoutSeconds: number;
  retries: number;
  startPeriodSeconds: number;
}

export interface WorkloadSpec {
  /** Container or service name; also the DNS name other workloads use. */
  name: string;
  image: pulumi.Input<string>;
  entrypoint?: string[];
  command?: string[];
  /** Non-secret settings only: a container's env is readable through the Docker API. */
  env?: Record<string, pulumi.Input<string>>;
  user?: string;
  networks: NetworkAttachment[];
  files: WorkloadFile[];
  volumes?: { source: pulumi.Input<string>; target: string; readOnly: boolean }[];
  /** Host paths; for the socket proxy's docker.sock and the sandbox workspace. `ensure` creates the directory with that owner and mode first. */
  binds?: { hostPath: string; target: string; readOnly: boolean; ensure?: { uid: number; gid: number; mode: string } }[];
  memoryMb: number;
  cpus: number;
  healthcheck: Healthcheck;
  readOnlyRoot: boolean;
  tmpfs?: Record<string, string>;
  capAdd?: string[];
  labels?: Record<string, string>;
  /** Swarm mode: a hostname every task of this workload keeps (default: Docker's, each task's container id). */
  hostname?: string;
  ports?: { internal: number; external: number; ip: string; protocol?: "tcp" | "udp" }[];
}

export type WorkloadTarget =
  | { kind: "container"; host: Host; /** Host directory holding the workload's files. */ filesDir: string }
  | { kind: "swarm"; provider: docker.Provider; constraints: string[] };
export type ContainerTarget = Extract<WorkloadTarget, { kind: "container" }>;

/** The docker provider a target's resources are registered with. */
export function targetProvider(target: WorkloadTarget): docker.Provider {
  return target.kind === "container" ? target.host.docker : target.provider;
}

/** Options for docker resources beside a workload (volumes): its provider, and on a host, the host's readiness. */
export function dockerResourceOptions(target: WorkloadTarget, parent: pulumi.Resource): pulumi.CustomResourceOptions {
  return { parent, provider: targetProvider(target), dependsOn: target.kind === "container" ? target.host.ready : [] };
}

/** Where a workload's file lives on the host in container mode (bind-mounted read-only). */
export function hostPathFor(target: ContainerTarget, containerPath: string): string {
  return `${target.filesDir}${containerPath}`;
}

export const LOG_OPTIONS = { "max-size": "10m", "max-file": "3" };

/** Where every workload finds its secret files: Swarm's own place for secrets, used in container mode too. */
export const SECRETS_DIR = "/run/secrets";

const seconds = (s: number) => `${s}s`;

/** The same healthcheck shape serves docker.Container and a Swarm ContainerSpec. */
function healthcheckInputs(h: Healthcheck) {
  return { tests: h.test, interval: seconds(h.intervalSeconds), timeout: seconds(h.timeoutSeconds), retries: h.retries, startPeriod: seconds(h.startPeriodSeconds) };
}

/** An HTTP healthcheck with the image's own Node (no curl or wget in these images). */
export function nodeHttpHealthcheck(url: string, startPeriodSeconds: number): Healthcheck {
  return {
    test: ["CMD", "node", "-e", `fetch('${url}').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))`],
    intervalSeconds: 30,
    timeoutSeconds: 10,
    retries: 3,
    startPeriodSeconds,
  };
}

/** One digest over every delivered file; unsecret: a digest of a random secret reveals nothing. */
function filesHash(files: WorkloadFile[]): pulumi.Output<string> {
  return pulumi.unsecret(pulumi.all(files.map((f) => pulumi.output(f.content)))
    .apply((contents) => createHash("sha256").update(JSON.stringify(contents)).digest("hex").slice(0, 12)));
}

function deployContainer(spec: WorkloadSpec, target: ContainerTarget, opts: pulumi.CustomResourceOptions): docker.Container {
  const { host } = target;
  host.containers.push({ name: spec.name, memoryMb: spec.memoryMb });
  // Files and directories wait for the hardened host, like the container.
  const onHost = { ...opts, dependsOn: host.ready };
  const fileCommands = spec.files.map((f) => hostFile(`${spec.name}${pathSlug(f.path)}`, host, {
    path: hostPathFor(target, f.path),
    content: f.content,
    mode: f.mode,
    owner: `${f.uid}:${f.gid}`,
    secret: f.secret,
  }, onHost));
  const dirsToEnsure = (spec.binds ?? []).filter((b) => b.ensure);
  if (dirsToEnsure.length > 0) {
    const script = ["set -eu", ...dirsToEnsure.map((b) => `install -d -o ${b.ensure!.uid} -g ${b.ensure!.gid} -m ${b.ensure!.mode} ${b.hostPath}`), ""].join("\n");
    fileCommands.push(new command.remote.Command(`${spec.name}-dirs`, { connection: host.connection, create: asRoot(script) }, onHost));
  }

  return new docker.Container(`${spec.name}-container`, {
    name: spec.name,
    image: spec.image,
    entrypoints: spec.entrypoint,
    command: spec.command,
    envs: Object.entries(spec.env ?? {}).map(([k, v]) => pulumi.interpolate`${k}=${v}`),
    user: spec.user,
    networksAdvanced: spec.networks.map((n) => ({ name: n.name, aliases: n.aliases })),
    volumes: [
      ...spec.files.map((f) => ({ hostPath: hostPathFor(target, f.path), containerPath: f.path, readOnly: true })),
      ...(spec.volumes ?? []).map((v) => ({ volumeName: v.source, containerPath: v.target, readOnly: v.readOnly })),
      ...(spec.binds ?? []).map((b) => ({ hostPath: b.hostPath, containerPath: b.target, readOnly: b.readOnly })),
    ],
    memory: spec.memoryMb,
    memorySwap: spec.memoryMb,
    cpus: String(spec.cpus),
    healthcheck: healthcheckInputs(spec.healthcheck),
    // on-failure with a cap (CIS 5.15): a crash loop stops and the watchdog alerts.
    restart: "on-failure",
    maxRetryCount: 5,
    readOnly: spec.readOnlyRoot,
    tmpfs: spec.tmpfs,
    capabilities: { drops: ["ALL"], adds: spec.capAdd ?? [] },
    securityOpts: ["no-new-privileges:true"],
    privileged: false,
    logDriver: "json-file",
    logOpts: LOG_OPTIONS,
    labels: [
      ...Object.entries(spec.labels ?? {}).map(([label, value]) => ({ label, value })),
      // A changed file re-creates the container, so it reads the new content.
      { label: "openclaw.files-hash", value: filesHash(spec.files) },
    ],
    ports: spec.ports?.map((p) => ({ internal: p.internal, external: p.external, ip: p.ip, protocol: p.protocol ?? "tcp" })),
    mustRun: true,
  }, { ...opts, provider: host.docker, dependsOn: [...host.ready, ...fileCommands] });
}

function deployService(spec: WorkloadSpec, target: Extract<WorkloadTarget, { kind: "swarm" }>, opts: pulumi.CustomResourceOptions): docker.Service {
  const resourceOpts = { ...opts, provider: target.provider };
  const configs: docker.types.input.ServiceTaskSpecContainerSpecConfig[] = [];
  const secrets: docker.types.input.ServiceTaskSpecContainerSpecSecret[] = [];
  for (const f of spec.files) {
    const placed = serviceFile(spec.name, f, resourceOpts);
    if ("secret" in placed) secrets.push(placed.secret);
    else configs.push(placed.config);
  }

  return new docker.Service(`${spec.name}-service`, {
    name: spec.name,
    taskSpec: {
      containerSpec: {
        image: spec.image,
        hostname: spec.hostname,
        // In a Swarm ContainerSpec, Command is the entrypoint and Args the command.
        commands: spec.entrypoint,
        args: spec.command,
        env: spec.env,
        user: spec.user,
        readOnly: spec.readOnlyRoot,
        capDrops: ["ALL"],
        capAdds: spec.capAdd ?? [],
        configs,
        secrets,
        mounts: [
          ...(spec.volumes ?? []).map((v) => ({ type: "volume", source: v.source, target: v.target, readOnly: v.readOnly })),
          ...(spec.binds ?? []).map((b) => ({ type: "bind", source: b.hostPath, target: b.target, readOnly: b.readOnly })),
          ...Object.entries(spec.tmpfs ?? {}).map(([target]) => ({ type: "tmpfs", target })),
        ],
        healthcheck: healthcheckInputs(spec.healthcheck),
        labels: Object.entries(spec.labels ?? {}).map(([label, value]) => ({ label, value })),
      },
      placement: { constraints: target.constraints, maxReplicas: 1 },
      resources: {
        limits: { memoryBytes: spec.memoryMb * 1024 * 1024, nanoCpus: Math.round(spec.cpus * 1e9) },
        // Memory reserved in full (the capacity check counts full limits), so the scheduler never
        // overcommits the trusted node; a quarter of the CPU reserved, so bursts share it.
        reservation: { memoryBytes: spec.memoryMb * 1024 * 1024, nanoCpus: Math.round(spec.cpus * 0.25 * 1e9) },
      },
      restartPolicy: { condition: "on-failure", maxAttempts: 5, delay: "10s", window: "120s" },
      networksAdvanceds: spec.networks.map((n) => ({ name: n.name, aliases: n.aliases })),
      logDriver: { name: "json-file", options: LOG_OPTIONS },
    },
    mode: { replicated: { replicas: 1 } },
    // One task: stop the old before starting the new (never two writers on one state volume);
    // a task that fails its healthcheck within the monitor window rolls the service back.
    updateConfig: { parallelism: 1, delay: "5s", order: "stop-first", failureAction: "rollback", monitor: "60s", maxFailureRatio: "0" },
    rollbackConfig: { parallelism: 1, delay: "5s", order: "stop-first", failureAction: "pause", monitor: "60s", maxFailureRatio: "0" },
    // `pulumi up` waits for the task to run and fails, naming the service, when it cannot
    // (e.g. no node carries the trusted label) instead of leaving it pending.
    convergeConfig: { delay: "5s", timeout: "5m" },
    endpointSpec: { mode: "vip" },
  }, resourceOpts);
}

/** Deploys the workload in the target's mode, as a child of `parent`. */
export function deployWorkload(spec: WorkloadSpec, target: WorkloadTarget, parent: pulumi.Resource): docker.Container | docker.Service {
  for (const [key] of Object.entries(spec.env ?? {})) {
    if (looksLikeSecretName(key)) {
      throw new Error(`${spec.name}: env ${key} looks like a secret; deliver it as a secret file instead (the Docker API shows env)`);
    }
  }
  const opts: pulumi.CustomResourceOptions = { parent };
  return target.kind === "container" ? deployContainer(spec, target, opts) : deployService(spec, target, opts);
}
