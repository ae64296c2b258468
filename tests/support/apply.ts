/**
 * Applies an offline render (resources.json) to a test VPS the way the engine
 * would: remote Commands run over SSH as the configured user with their own
 * scripts and stdin, networks/volumes/containers are created through the
 * Docker Engine API from the resources' own inputs. A container input this
 * module does not translate is an error, so nothing the program declares is
 * silently dropped. (When the real engine lands, `pulumi up` replaces this
 * path; the assertions stay.)
 *
 * Secrets are "[secret]" in a render. Each secret stdin gets a value here: the
 * value of the random resource it depends on (so the two files holding the
 * LiteLLM master key agree), or a fresh one per command; tests read them back
 * by resource name.
 */
import { randomBytes } from "node:crypto";
import type { RenderRun, RenderedResourceJson } from "./render";
import type { CommandResult, VpsHost } from "./vps";

const SECRET = "[secret]";

export interface DockerResponse {
  status: number;
  body: any;
}

/** Calls the host's Docker Engine API on the daemon's own socket, over SSH as `user` (with sudo unless root). */
export async function dockerApi(host: VpsHost, method: string, path: string, body?: unknown, user = "root"): Promise<DockerResponse> {
  const curl = `curl -sS --unix-socket /var/run/docker.sock -X ${method} -H 'Content-Type: application/json' ${body === undefined ? "" : "--data-binary @-"} -w '\\n%{http_code}' 'http://docker/v1.41${path}'`;
  const r = await host.ssh(user === "root" ? curl : `sudo -n ${curl}`, { user, input: body === undefined ? "" : JSON.stringify(body) });
  if (r.status !== 0) throw new Error(`docker API ${method} ${path}: curl failed: ${r.stderr}`);
  const lines = r.stdout.trimEnd().split("\n");
  const status = Number(lines.pop());
  const text = lines.join("\n");
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // plain text
  }
  return { status, body: parsed };
}

async function dockerOk(host: VpsHost, method: string, path: string, body?: unknown, user = "root"): Promise<any> {
  const r = await dockerApi(host, method, path, body, user);
  if (r.status >= 300) throw new Error(`docker API ${method} ${path} -> ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

/** "30s" / "1m30s" → nanoseconds (the provider's duration strings). */
export function durationNs(value: string): number {
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let matched = "";
  for (let m = re.exec(value); m; m = re.exec(value)) {
    matched += m[0];
    total += Number(m[1]) * { ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 }[m[2] as "ms" | "s" | "m" | "h"];
  }
  if (matched !== value) throw new Error(`not a duration: ${value}`);
  return Math.round(total);
}

/** Container inputs this translator knows; anything else in a render fails the test. */
const CONTAINER_INPUTS = new Set(["name", "image", "hostname", "entrypoints", "command", "envs", "user", "networksAdvanced", "volumes", "memory", "memorySwap",
  "cpus", "healthcheck", "restart", "maxRetryCount", "readOnly", "tmpfs", "capabilities", "securityOpts", "privileged", "logDriver", "logOpts", "labels", "ports", "mustRun"]);

export interface ContainerCreate {
  name: string;
  body: Record<string, unknown>;
  /** Networks after the first: connected before start, as the provider does. */
  moreNetworks: { name: string; aliases?: string[] }[];
  start: boolean;
}

/** Translates docker.Container inputs into the Engine API's create request (what the docker provider sends). */
export function containerCreate(inputs: Record<string, any>): ContainerCreate {
  const unknown = Object.keys(inputs).filter((k) => !CONTAINER_INPUTS.has(k));
  if (unknown.length > 0) throw new Error(`container ${inputs["name"]}: inputs not translated: ${unknown.join(", ")}`);
  const networks: { name: string; aliases?: string[] }[] = inputs["networksAdvanced"] ?? [];
  const [first, ...rest] = networks;
  const hc = inputs["healthcheck"];
  const ports: { internal: number; external: number; ip: string; protocol: string }[] = inputs["ports"] ?? [];
  const portBindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of ports) (portBindings[`${p.internal}/${p.protocol}`] ??= []).push({ HostIp: p.ip, HostPort: String(p.external) });
  const mb = (v: number | undefined) => (v === undefined ? undefined : v * 1024 * 1024);
  return {
    name: inputs["name"],
    start: inputs["mustRun"] !== false,
    moreNetworks: rest,
    body: {
      Image: inputs["image"],
      Hostname: inputs["hostname"] ?? undefined,
      Entrypoint: inputs["entrypoints"] ?? undefined,
      Cmd: inputs["command"] ?? undefined,
      Env: inputs["envs"] ?? [],
      User: inputs["user"] ?? "",
      Labels: Object.fromEntries((inputs["labels"] ?? []).map((l: { label: string; value: string }) => [l.label, l.value])),
      ExposedPorts: Object.fromEntries(Object.keys(portBindings).map((k) => [k, {}])),
      Healthcheck: hc ? { Test: hc.tests, Interval: durationNs(hc.interval), Timeout: durationNs(hc.timeout), Retries: hc.retries, StartPeriod: durationNs(hc.startPeriod) } : undefined,
      HostConfig: {
        Binds: (inputs["volumes"] ?? []).map((v: { hostPath?: string; volumeName?: string; containerPath: string; readOnly?: boolean }) =>
          `${v.hostPath ?? v.volumeName}:${v.containerPath}${v.readOnly ? ":ro" : ""}`),
        Memory: mb(inputs["memory"]),
        MemorySwap: mb(inputs["memorySwap"]),
        NanoCpus: inputs["cpus"] === undefined ? undefined : Math.round(Number(inputs["cpus"]) * 1e9),
        RestartPolicy: { Name: inputs["restart"] ?? "no", MaximumRetryCount: inputs["maxRetryCount"] ?? 0 },
        ReadonlyRootfs: inputs["readOnly"] ?? false,
        Tmpfs: inputs["tmpfs"] ?? undefined,
        CapAdd: inputs["capabilities"]?.adds ?? [],
        CapDrop: inputs["capabilities"]?.drops ?? [],
        SecurityOpt: inputs["securityOpts"] ?? [],
        Privileged: inputs["privileged"] ?? false,
        LogConfig: { Type: inputs["logDriver"] ?? "json-file", Config: inputs["logOpts"] ?? {} },
        PortBindings: portBindings,
        NetworkMode: first?.name ?? "default",
      },
      NetworkingConfig: first ? { EndpointsConfig: { [first.name]: { Aliases: first.aliases ?? [] } } } : undefined,
    },
  };
}

export class RenderApplier {
  /** Secret values handed out, by resource name (the random resource's, or the command's own). */
  readonly secrets = new Map<string, string>();

  constructor(readonly render: RenderRun, readonly host: VpsHost, readonly sshUser: string) {}

  resource(type: string, name: string): RenderedResourceJson {
    const r = this.render.resources.find((x) => x.type === type && x.name === name);
    if (!r) throw new Error(`the render has no ${type} ${name}`);
    return r;
  }

  /** The plaintext of a secret, keyed by the random resource (e.g. "openclaw-primary-token") or the command. */
  secret(name: string): string {
    const value = this.secrets.get(name);
    if (value === undefined) throw new Error(`no secret ${name} was handed out (yet)`);
    return value;
  }

  private secretFor(command: RenderedResourceJson): string {
    const randomDep = command.dependsOn.find((d) => this.render.resources.some((r) => r.name === d && r.type.startsWith("random:")));
    const key = randomDep ?? command.name;
    if (!this.secrets.has(key)) this.secrets.set(key, randomBytes(24).toString("hex"));
    return this.secrets.get(key)!;
  }

  /** Runs one remote Command's create script with its stdin, over SSH as the stack's SSH user. */
  async runCommand(name: string): Promise<CommandResult> {
    const c = this.resource("command:remote:Command", name);
    const stdin = c.inputs["stdin"];
    const input = stdin === SECRET ? this.secretFor(c) : (stdin ?? "");
    const r = await this.host.ssh(c.inputs["create"], { input, user: this.sshUser });
    if (r.status !== 0) throw new Error(`command ${name} failed (${r.status}): ${r.stderr.trim()}\n${r.stdout.trim()}`);
    return r;
  }

  /** Runs the selected Commands in dependency order; returns each one's result. */
  async runCommands(select: (r: RenderedResourceJson) => boolean): Promise<Map<string, CommandResult>> {
    const chosen = this.render.resources.filter((r) => r.type === "command:remote:Command" && select(r));
    const done = new Map<string, CommandResult>();
    const names = new Set(chosen.map((c) => c.name));
    while (done.size < chosen.length) {
      const ready = chosen.filter((c) => !done.has(c.name) && c.dependsOn.every((d) => d === c.name || !names.has(d) || done.has(d)));
      if (ready.length === 0) throw new Error("dependency cycle among commands");
      for (const c of ready) done.set(c.name, await this.runCommand(c.name));
    }
    return done;
  }

  /** Commands a resource depends on that place its files or directories (children of the same component). */
  commandsOf(componentName: string): (r: RenderedResourceJson) => boolean {
    return (r) => r.parent === componentName;
  }

  async createNetwork(name: string): Promise<void> {
    const n = this.resource("docker:index/network:Network", name).inputs;
    await dockerOk(this.host, "POST", "/networks/create", {
      Name: n["name"], Driver: n["driver"], Internal: n["internal"] ?? false, CheckDuplicate: true,
      IPAM: { Config: (n["ipamConfigs"] ?? []).map((c: { subnet: string }) => ({ Subnet: c.subnet })) },
      Options: n["options"] ?? {},
    }, this.sshUser);
  }

  async createVolume(name: string): Promise<void> {
    const v = this.resource("docker:index/volume:Volume", name).inputs;
    await dockerOk(this.host, "POST", "/volumes/create", { Name: v["name"] }, this.sshUser);
  }

  /** Creates (and, when mustRun, starts) a container from its docker.Container resource. */
  async createContainer(resourceName: string, imageOverride?: string): Promise<string> {
    const inputs = { ...this.resource("docker:index/container:Container", resourceName).inputs };
    if (imageOverride) inputs["image"] = imageOverride;
    const c = containerCreate(inputs);
    await dockerOk(this.host, "POST", `/containers/create?name=${encodeURIComponent(c.name)}`, c.body, this.sshUser);
    for (const n of c.moreNetworks) await dockerOk(this.host, "POST", `/networks/${n.name}/connect`, { Container: c.name, EndpointConfig: { Aliases: n.aliases ?? [] } }, this.sshUser);
    if (c.start) await dockerOk(this.host, "POST", `/containers/${c.name}/start`, undefined, this.sshUser);
    return c.name;
  }
}

export async function inspectContainer(host: VpsHost, name: string, user = "root"): Promise<any> {
  return dockerOk(host, "GET", `/containers/${name}/json`, undefined, user);
}

/** Waits until Docker reports the container healthy; throws with its state and logs otherwise. */
export async function waitHealthy(host: VpsHost, name: string, timeoutSeconds: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const state = (await inspectContainer(host, name)).State;
    if (state.Health?.Status === "healthy") return (Date.now() - t0) / 1000;
    if (Date.now() - t0 > timeoutSeconds * 1000 || state.Status === "exited") {
      const logs = await host.ssh(`docker logs --tail 40 ${name} 2>&1`);
      throw new Error(`${name} not healthy after ${timeoutSeconds} s: ${JSON.stringify({ status: state.Status, health: state.Health?.Status, last: state.Health?.Log?.at(-1) })}\n${logs.stdout}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** docker.Service inputs this translator knows; anything else in a render fails the test. */
const SERVICE_INPUTS = new Set(["name", "taskSpec", "mode", "updateConfig", "rollbackConfig", "convergeConfig", "endpointSpec"]);
const CONTAINER_SPEC_INPUTS = new Set(["image", "hostname", "commands", "args", "env", "user", "readOnly", "capDrops", "capAdds", "configs", "secrets", "mounts", "healthcheck", "labels"]);
const TASK_SPEC_INPUTS = new Set(["containerSpec", "placement", "resources", "restartPolicy", "networksAdvanceds", "logDriver"]);

/** Swarm update/rollback config from the provider's shape. */
function updateConfig(u: Record<string, any>): Record<string, unknown> {
  return {
    Parallelism: u["parallelism"], Delay: durationNs(u["delay"]), Monitor: durationNs(u["monitor"]), MaxFailureRatio: Number(u["maxFailureRatio"]),
    Order: u["order"], FailureAction: u["failureAction"],
  };
}

/**
 * Translates docker.Service inputs into the Engine API's ServiceSpec (what the docker provider sends).
 * `ids` maps each config/secret name the service references to the id the daemon gave it.
 */
export function serviceSpec(inputs: Record<string, any>, ids: Record<string, string>): Record<string, unknown> {
  const unknownKeys = (o: Record<string, unknown>, known: Set<string>) => Object.keys(o).filter((k) => !known.has(k));
  const task = inputs["taskSpec"];
  const cs = task["containerSpec"];
  const unknown = [...unknownKeys(inputs, SERVICE_INPUTS), ...unknownKeys(task, TASK_SPEC_INPUTS), ...unknownKeys(cs, CONTAINER_SPEC_INPUTS)];
  if (unknown.length > 0) throw new Error(`service ${inputs["name"]}: inputs not translated: ${unknown.join(", ")}`);
  const id = (name: string) => { const v = ids[name]; if (!v) throw new Error(`service ${inputs["name"]}: no id for ${name}`); return v; };
  const hc = cs["healthcheck"];
  const rp = task["restartPolicy"];
  return {
    Name: inputs["name"],
    TaskTemplate: {
      ContainerSpec: {
        Image: cs["image"], Hostname: cs["hostname"], Command: cs["commands"], Args: cs["args"],
        Env: Object.entries(cs["env"] ?? {}).map(([k, v]) => `${k}=${v}`),
        User: cs["user"], ReadOnly: cs["readOnly"] ?? false, CapabilityDrop: cs["capDrops"], CapabilityAdd: cs["capAdds"],
        Labels: Object.fromEntries((cs["labels"] ?? []).map((l: { label: string; value: string }) => [l.label, l.value])),
        Configs: (cs["configs"] ?? []).map((c: Record<string, any>) => ({
          ConfigID: id(c["configName"]), ConfigName: c["configName"],
          File: { Name: c["fileName"], UID: c["fileUid"], GID: c["fileGid"], Mode: c["fileMode"] },
        })),
        Secrets: (cs["secrets"] ?? []).map((c: Record<string, any>) => ({
          SecretID: id(c["secretName"]), SecretName: c["secretName"],
          File: { Name: c["fileName"], UID: c["fileUid"], GID: c["fileGid"], Mode: c["fileMode"] },
        })),
        Mounts: (cs["mounts"] ?? []).map((m: Record<string, any>) => ({ Type: m["type"], Source: m["source"], Target: m["target"], ReadOnly: m["readOnly"] ?? false })),
        Healthcheck: hc && { Test: hc.tests, Interval: durationNs(hc.interval), Timeout: durationNs(hc.timeout), Retries: hc.retries, StartPeriod: durationNs(hc.startPeriod) },
      },
      Placement: { Constraints: task["placement"]["constraints"], MaxReplicas: task["placement"]["maxReplicas"] },
      Resources: {
        Limits: { MemoryBytes: task["resources"]["limits"]["memoryBytes"], NanoCPUs: task["resources"]["limits"]["nanoCpus"] },
        Reservations: { MemoryBytes: task["resources"]["reservation"]["memoryBytes"], NanoCPUs: task["resources"]["reservation"]["nanoCpus"] },
      },
      RestartPolicy: { Condition: rp["condition"], Delay: durationNs(rp["delay"]), MaxAttempts: rp["maxAttempts"], Window: durationNs(rp["window"]) },
      Networks: (task["networksAdvanceds"] ?? []).map((n: { name: string; aliases?: string[] }) => ({ Target: n.name, Aliases: n.aliases ?? [] })),
      LogDriver: { Name: task["logDriver"]["name"], Options: task["logDriver"]["options"] },
    },
    Mode: { Replicated: { Replicas: inputs["mode"]["replicated"]["replicas"] } },
    UpdateConfig: updateConfig(inputs["updateConfig"]),
    RollbackConfig: updateConfig(inputs["rollbackConfig"]),
    EndpointSpec: { Mode: inputs["endpointSpec"]["mode"] },
  };
}

/**
 * Creates a render's Swarm service through the applier's host (a manager): the configs and secrets it
 * references first (secret data: a fresh value per secret, kept in the applier's `secrets` under the
 * secret's resource name), then the service (the engine's order). `endpointMode` overrides VIP where this
 * kernel has no IP_VS. Returns the service id.
 */
export async function createService(applier: RenderApplier, resourceName: string, overrides: { image?: string; endpointMode?: "dnsrr" } = {}): Promise<string> {
  const { render, host: manager, secrets, sshUser } = applier;
  const service = render.resources.find((r) => r.type === "docker:index/service:Service" && r.name === resourceName);
  if (!service) throw new Error(`the render has no service ${resourceName}`);
  const ids: Record<string, string> = {};
  for (const dep of service.dependsOn) {
    const r = render.resources.find((x) => x.name === dep && (x.type === "docker:index/serviceConfig:ServiceConfig" || x.type === "docker:index/secret:Secret"));
    if (!r) continue;
    const kind = r.type === "docker:index/secret:Secret" ? "secrets" : "configs";
    let data = r.inputs["data"] as string;
    if (data === SECRET) {
      if (!secrets.has(r.name)) secrets.set(r.name, randomBytes(24).toString("hex"));
      data = Buffer.from(secrets.get(r.name)!).toString("base64");
    }
    ids[r.inputs["name"]] = (await dockerOk(manager, "POST", `/${kind}/create`, { Name: r.inputs["name"], Data: data }, sshUser)).ID;
  }
  const inputs = structuredClone(service.inputs);
  if (overrides.image) inputs["taskSpec"]["containerSpec"]["image"] = overrides.image;
  if (overrides.endpointMode) inputs["endpointSpec"] = { mode: overrides.endpointMode };
  return (await dockerOk(manager, "POST", "/services/create", serviceSpec(inputs, ids), sshUser)).ID;
}
