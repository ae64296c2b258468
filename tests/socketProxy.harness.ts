/**
 * The socket proxy as shipped (server.js + the policy the component renders)
 * in front of a private, real dockerd, with two gateway instances ("a", "b"),
 * each with its own listener, sandbox root and a real gateway container.
 * Shared by the socket proxy suites; the daemon is the oracle.
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import { dirname, join } from "node:path";
import { renderSocketProxyPolicy, SANDBOX_IMAGE, SERVER_NODE_FLAGS, socketProxyServerSource } from "../components/socketProxy";
import { apiCall, Dockerd, startDockerd } from "./support/dockerd";
import { findTool, run } from "./support/tools";

export const MiB = 1024 * 1024;
export const LIMITS = { memoryMb: 64, pidsLimit: 64, cpus: 0.5 };
export const INSTANCES = ["a", "b"] as const;
export type Instance = (typeof INSTANCES)[number];

export interface Harness {
  d: Dockerd;
  root: (inst: Instance) => string;
  socket: (inst: Instance) => string;
  gatewayId: Record<Instance, string>;
  /** A fresh workspace directory under the instance's sandbox root. */
  workspace: (inst: Instance, name: string) => string;
  api: (inst: Instance, method: string, path: string, body?: unknown) => ReturnType<typeof apiCall>;
  docker: (inst: Instance, args: string[], input?: string) => { status: number; stdout: string; stderr: string };
  /** Raw bytes to a listener; resolves with everything read until the proxy closes or `ms` pass. */
  raw: (inst: Instance, data: string | Buffer, ms?: number) => Promise<string>;
  proxyPid: () => number;
  proxyAlive: () => boolean;
  stderr: () => string;
  stop: () => Promise<void>;
}

/**
 * swarm: the daemon is a one-node Swarm manager and each gateway is a Swarm
 * service `openclaw-<inst>` (its task container is named `<service>.1.<task id>`),
 * as in the swarm topology; gatewayId is then the task's container id.
 */
export async function startHarness(name: string, options: { swarm?: boolean } = {}): Promise<Harness> {
  const d = await startDockerd(name);
  let proxy: ChildProcess | undefined;
  try {
    d.importSandboxImage(SANDBOX_IMAGE);
    const root = (inst: Instance) => join(d.dir, "srv", inst, "sandboxes");
    const sockets = join(d.dir, "sockets");
    const socket = (inst: Instance) => join(sockets, inst, "docker.sock");
    const gatewayId = {} as Record<Instance, string>;
    if (options.swarm) {
      // Loopback only, on a port of its own: never next to another daemon's 2377.
      const port = await freePort();
      const init = d.docker(["swarm", "init", "--advertise-addr", "127.0.0.1", "--listen-addr", `127.0.0.1:${port}`]);
      assert.equal(init.status, 0, init.stderr);
    }
    for (const inst of INSTANCES) {
      mkdirSync(root(inst), { recursive: true });
      // The victim gateway: a real container with the instance's sandbox root bound, as in production.
      gatewayId[inst] = options.swarm
        ? runService(d, `openclaw-${inst}`, ["--container-label", "openclaw.role=gateway", "--env", "GATEWAY_SECRET=do-not-leak",
          "--mount", `type=bind,source=${root(inst)},target=${root(inst)}`])
        : (() => {
          const created = d.docker(["run", "-d", "--name", `openclaw-${inst}`, "--network", "none", "--label", "openclaw.role=gateway",
            "-e", "GATEWAY_SECRET=do-not-leak", "-v", `${root(inst)}:${root(inst)}`, SANDBOX_IMAGE, "sleep", "3600"]);
          assert.equal(created.status, 0, created.stderr);
          return created.stdout.trim();
        })();
    }
    const policyFile = join(d.dir, "policy.json");
    writeFileSync(policyFile, renderSocketProxyPolicy({
      instances: INSTANCES.map((inst) => ({ name: inst, gatewayContainer: `openclaw-${inst}`, sandboxRoot: root(inst) })),
      sandbox: LIMITS, socketsDir: sockets, upstreamSocket: d.socket, swarm: options.swarm === true,
    }));
    const serverFile = join(d.dir, "server.js");
    writeFileSync(serverFile, socketProxyServerSource());
    proxy = spawn(process.execPath, [...SERVER_NODE_FLAGS, serverFile, policyFile], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    let alive = true;
    proxy.stderr!.on("data", (c: Buffer) => { stderr = (stderr + c.toString()).slice(-200_000); });
    proxy.on("exit", () => { alive = false; });
    for (let i = 0; i < 100 && (stderr.match(/listening/g) ?? []).length < INSTANCES.length; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal((stderr.match(/listening/g) ?? []).length, INSTANCES.length, stderr);
    const dockerCli = findTool("docker")!;
    const running = proxy;
    return {
      d, root, socket, gatewayId,
      workspace: (inst, ws) => { const p = join(root(inst), ws); mkdirSync(p, { recursive: true }); return p; },
      api: (inst, method, path, body) => apiCall(socket(inst), method, path, body),
      docker: (inst, args, input) => run(dockerCli, args, { input, env: { ...process.env, DOCKER_HOST: `unix://${socket(inst)}`, DOCKER_CONFIG: join(d.dir, "cli") } }),
      raw: (inst, data, ms = 3000) => new Promise((resolve) => {
        let text = "";
        const s = net.createConnection(socket(inst), () => s.write(data));
        const timer = setTimeout(() => { s.destroy(); resolve(text); }, ms);
        s.on("data", (c) => (text += c.toString("latin1")));
        s.on("close", () => { clearTimeout(timer); resolve(text); });
        s.on("error", () => { clearTimeout(timer); resolve(text); });
      }),
      proxyPid: () => running.pid ?? 0,
      proxyAlive: () => alive,
      stderr: () => stderr,
      stop: async () => { running.kill("SIGKILL"); await d.stop(); },
    };
  } catch (err) {
    proxy?.kill("SIGKILL");
    await d.stop();
    throw err;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    }).on("error", reject);
  });
}

/**
 * Creates a one-replica Swarm service of the sandbox image (`sleep 3600`), waits until its task
 * runs, and returns the task's container id.
 */
export function runService(d: Dockerd, service: string, args: string[]): string {
  const created = d.docker(["service", "create", "--detach=false", "--quiet", "--name", service, ...args, SANDBOX_IMAGE, "sleep", "3600"]);
  assert.equal(created.status, 0, created.stderr);
  return serviceContainer(d, service);
}

/** The container of the service's one running task, from the manager's task record (not from labels or names). */
export function serviceContainer(d: Dockerd, service: string): string {
  const task = d.docker(["service", "ps", "-q", "--no-trunc", "--filter", "desired-state=running", service]).stdout.trim();
  const id = d.docker(["inspect", "--type", "task", "--format", "{{.Status.ContainerStatus.ContainerID}}", task]).stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/, `one running task of ${service}: ${task}`);
  return id;
}

/** The create body the docker CLI (20.10) sends for OpenClaw's `docker create` argv, captured on the wire. */
export function cliCreateBody(workspace: string, overrides: { host?: Record<string, unknown>; top?: Record<string, unknown> } = {}): Record<string, unknown> {
  return {
    Hostname: "", Domainname: "", User: "", AttachStdin: false, AttachStdout: true, AttachStderr: true, Tty: false, OpenStdin: false, StdinOnce: false,
    Env: ["OPENCLAW_CLI=1"], Cmd: ["sleep", "infinity"], Image: SANDBOX_IMAGE, Volumes: {}, WorkingDir: "/workspace", Entrypoint: null, OnBuild: null,
    Labels: { "openclaw.sandbox": "1", "openclaw.sessionKey": "agent:main" },
    HostConfig: {
      Binds: [`${workspace}:/workspace:z`], ContainerIDFile: "", LogConfig: { Type: "", Config: {} }, NetworkMode: "none", PortBindings: {},
      RestartPolicy: { Name: "no", MaximumRetryCount: 0 }, AutoRemove: false, VolumeDriver: "", VolumesFrom: null, CapAdd: null, CapDrop: ["ALL"],
      CgroupnsMode: "", Dns: [], DnsOptions: [], DnsSearch: [], ExtraHosts: null, GroupAdd: null, IpcMode: "", Cgroup: "", Links: null, OomScoreAdj: 0,
      PidMode: "", Privileged: false, PublishAllPorts: false, ReadonlyRootfs: true, SecurityOpt: ["no-new-privileges"], Tmpfs: { "/run": "", "/tmp": "" },
      UTSMode: "", UsernsMode: "", ShmSize: 0, ConsoleSize: [0, 0], Isolation: "", CpuShares: 0, Memory: 64 * MiB, NanoCpus: 500000000, CgroupParent: "",
      BlkioWeight: 0, BlkioWeightDevice: [], BlkioDeviceReadBps: null, BlkioDeviceWriteBps: null, BlkioDeviceReadIOps: null, BlkioDeviceWriteIOps: null,
      CpuPeriod: 0, CpuQuota: 0, CpuRealtimePeriod: 0, CpuRealtimeRuntime: 0, CpusetCpus: "", CpusetMems: "", Devices: [], DeviceCgroupRules: null,
      DeviceRequests: null, KernelMemory: 0, KernelMemoryTCP: 0, MemoryReservation: 0, MemorySwap: 64 * MiB, MemorySwappiness: -1, OomKillDisable: false,
      PidsLimit: 64, Ulimits: null, CpuCount: 0, CpuPercent: 0, IOMaximumIOps: 0, IOMaximumBandwidth: 0, MaskedPaths: null, ReadonlyPaths: null, Init: true,
      ...overrides.host,
    },
    NetworkingConfig: { EndpointsConfig: {} },
    ...overrides.top,
  };
}

/**
 * Every container on the daemon that is not a victim gateway must have the
 * sandbox shape; returns the containers' names. The oracle for hostile cases.
 */
export async function assertDaemonHoldsOnlySandboxes(h: Harness): Promise<string[]> {
  const list = (await h.d.api("GET", "/containers/json?all=1")).json() as { Id: string; Names: string[] }[];
  const names: string[] = [];
  for (const c of list) {
    const info = (await h.d.api("GET", `/containers/${c.Id}/json`)).json();
    const name = String(info.Name).slice(1);
    names.push(name);
    if (name === "openclaw-a" || name === "openclaw-b") continue;
    const hc = info.HostConfig;
    const inst = info.Config.Labels["openclaw.proxy.instance"] as Instance;
    const where = `${name}: ${JSON.stringify(hc)}`;
    assert.ok(INSTANCES.includes(inst), where);
    assert.ok(name.startsWith("openclaw-sbx-"), where);
    assert.equal(info.Config.Labels["openclaw.sandbox"], "1", where);
    assert.equal(hc.Privileged, false, where);
    assert.deepEqual(hc.CapAdd ?? [], [], where);
    assert.deepEqual(hc.CapDrop, ["ALL"], where);
    assert.equal(hc.ReadonlyRootfs, true, where);
    assert.equal(hc.NetworkMode, "none", where);
    assert.deepEqual(hc.SecurityOpt, ["no-new-privileges"], where);
    assert.ok(hc.Memory > 0 && hc.Memory <= LIMITS.memoryMb * MiB && hc.MemorySwap === hc.Memory, where);
    assert.ok(hc.PidsLimit > 0 && hc.PidsLimit <= LIMITS.pidsLimit, where);
    assert.equal(hc.LogConfig.Type, "json-file", where);
    for (const mode of [hc.PidMode, hc.IpcMode, hc.UTSMode, hc.UsernsMode]) assert.ok(!/^(host|container:)/.test(mode ?? ""), where);
    assert.deepEqual([hc.Devices ?? [], hc.VolumesFrom ?? [], hc.Mounts ?? [], Object.keys(hc.Sysctls ?? {}), hc.DeviceRequests ?? []], [[], [], [], [], []], where);
    assert.equal(hc.MaskedPaths?.length > 0, true, where);
    assert.ok((hc.Binds ?? []).length <= 1, where);
    for (const b of hc.Binds ?? []) assert.equal(dirname(String(b).split(":")[0] ?? ""), h.root(inst), where);
    for (const m of info.Mounts ?? []) {
      assert.equal(m.Type, "bind", where);
      assert.equal(dirname(m.Source), h.root(inst), where);
    }
  }
  return names;
}

/** OpenClaw's own `docker create` argv (its buildSandboxCreateArgs, run under Node 24) for our openclaw.json sandbox settings. */
export function openclawCreateArgv(name: string): string[] {
  const node24 = findTool("node24");
  const openclaw = findTool("openclaw");
  if (!node24 || !openclaw) throw new Error("node24 and openclaw are needed (npm run validators)");
  const script = `
    import fs from "node:fs"; import path from "node:path";
    const dist = process.argv[1];
    const file = fs.readdirSync(dist).find((f) => /^docker-.*\\.mjs$/.test(f) && fs.readFileSync(path.join(dist, f), "utf8").includes("function buildSandboxCreateArgs("));
    const alias = /buildSandboxCreateArgs as (\\w+)/.exec(fs.readFileSync(path.join(dist, file), "utf8"))[1];
    const m = await import(path.join(dist, file));
    process.stdout.write(JSON.stringify(m[alias](JSON.parse(process.argv[2])).argv));`;
  const params = {
    name, scopeKey: "agent:main", configHash: "0123abcd", bindSourceRoots: [], includeBinds: false, createdAtMs: 1,
    cfg: { image: SANDBOX_IMAGE, readOnlyRoot: true, tmpfs: ["/tmp", "/var/tmp", "/run"], network: "none", capDrop: ["ALL"], memory: `${LIMITS.memoryMb}m`, memorySwap: `${LIMITS.memoryMb}m`, cpus: LIMITS.cpus, pidsLimit: LIMITS.pidsLimit, env: {} },
  };
  const r = spawnSync(node24, ["--input-type=module", "-e", script, join(dirname(openclaw), "dist"), JSON.stringify(params)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`OpenClaw's buildSandboxCreateArgs failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as string[];
}

/**
 * `npm run bench`: one create+start+exec+rm round trip through the proxy and
 * straight to the daemon, alternating, in one run; the median of each.
 */
export async function socketProxyOverhead(iterations = 15): Promise<{ directMs: number; proxyMs: number; ratio: number }> {
  const h = await startHarness("pxb");
  try {
    const ws = h.workspace("a", "bench");
    let n = 0;
    const roundTrip = async (call: (method: string, path: string, body?: unknown) => ReturnType<typeof apiCall>): Promise<number> => {
      const t0 = process.hrtime.bigint();
      const name = `openclaw-sbx-bench-${n++}`;
      const created = await call("POST", `/v1.41/containers/create?name=${name}`, cliCreateBody(ws));
      assert.equal(created.status, 201, created.body);
      const id = created.json().Id as string;
      assert.equal((await call("POST", `/v1.41/containers/${id}/start`)).status, 204);
      const exec = await call("POST", `/v1.41/containers/${id}/exec`, { Cmd: ["echo", "bench"], AttachStdout: true });
      const out = await call("POST", `/v1.41/exec/${exec.json().Id}/start`, { Detach: false, Tty: true });
      assert.match(out.body, /bench/);
      assert.equal((await call("DELETE", `/v1.41/containers/${id}?force=1`)).status, 204);
      return Number(process.hrtime.bigint() - t0) / 1e6;
    };
    const direct = (m: string, p: string, b?: unknown) => h.d.api(m, p, b);
    const proxied = (m: string, p: string, b?: unknown) => h.api("a", m, p, b);
    await roundTrip(direct);
    await roundTrip(proxied);
    const d: number[] = [];
    const p: number[] = [];
    for (let i = 0; i < iterations; i++) { d.push(await roundTrip(direct)); p.push(await roundTrip(proxied)); }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    return { directMs: median(d), proxyMs: median(p), ratio: median(p) / median(d) };
  } finally {
    await h.stop();
  }
}
