/**
 * Proof 1 on a real VPS: the gateway container created from the render's own
 * docker.Container inputs and files runs under its declared settings, answers
 * /healthz, turns healthy by its own Docker healthcheck, refuses the tools API
 * without or with a wrong token (and accepts the token the render placed), and
 * keeps its state across a restart.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { inspectContainer, waitHealthy } from "./support/apply";
import { declaredHealthSeconds, Runtime, runtimeSkip, startRuntime } from "./support/runtime";

const skip = runtimeSkip("runtime: gateway");
const GATEWAY = "openclaw-primary";

describe("runtime: gateway on a real VPS", { skip, timeout: 900_000 }, () => {
  let rt: Runtime;
  let gatewayIp = "";
  const curl = (args: string) => rt.host.ssh(`curl -s -o /dev/stdout -w '\\n%{http_code}' --max-time 10 ${args}`);
  const status = async (args: string) => Number((await curl(args)).stdout.trim().split("\n").pop());

  /** /healthz within the declared healthcheck's allowance (60 + 3 × 30 s). Seen: ~10 s on an idle machine, 80-95 s with seven suites sharing two cores. */
  const healthzWithinSeconds = () => declaredHealthSeconds(rt.applier, `${GATEWAY}-container`);
  const waitHealthz = async (): Promise<number> => {
    const t0 = Date.now();
    const HEALTHZ_WITHIN_SECONDS = healthzWithinSeconds();
    while (Date.now() - t0 < HEALTHZ_WITHIN_SECONDS * 1000) {
      if ((await status(`http://${gatewayIp}:18789/healthz`)) === 200) return (Date.now() - t0) / 1000;
      await new Promise((r) => setTimeout(r, 500));
    }
    const logs = await rt.host.ssh(`docker logs --tail 60 ${GATEWAY} 2>&1`);
    throw new Error(`/healthz not 200 within ${HEALTHZ_WITHIN_SECONDS} s\n${logs.stdout}`);
  };

  before(async () => {
    rt = await startRuntime({ images: ["gateway"] });
    console.log(`runtime gateway: VPS ${rt.timings.boot.toFixed(1)} s, load ${JSON.stringify(rt.timings.load)}, render ${rt.timings.render.toFixed(1)} s`);
    await rt.applier.runCommands(rt.applier.commandsOf(GATEWAY));
    for (const n of ["openclaw-net", "proxy-net"]) await rt.applier.createNetwork(n);
    await rt.applier.createVolume(`${GATEWAY}-data`);
    await rt.applier.createContainer(`${GATEWAY}-container`);
    const info = await inspectContainer(rt.host, GATEWAY);
    gatewayIp = info.NetworkSettings.Networks["proxy-net"].IPAddress;
    console.log(`runtime gateway: /healthz 200 after ${(await waitHealthz()).toFixed(1)} s`);
  });
  after(() => {
    if (rt) console.log(`runtime gateway: teardown ${rt.teardown().toFixed(1)} s`);
  });

  it("runs under its declared settings: read-only root, uid 1000, no capabilities, no-new-privileges, limits, tmpfs, secrets mounted read-only", async () => {
    const declared = rt.applier.resource("docker:index/container:Container", `${GATEWAY}-container`).inputs;
    const info = await inspectContainer(rt.host, GATEWAY);
    assert.equal(info.HostConfig.ReadonlyRootfs, true);
    assert.equal(info.Config.User, "1000:1000");
    assert.deepEqual(info.HostConfig.CapDrop, ["ALL"]);
    assert.deepEqual(info.HostConfig.SecurityOpt, ["no-new-privileges:true"]);
    assert.equal(info.HostConfig.Memory, declared.memory * 1024 * 1024);
    assert.equal(info.HostConfig.NanoCpus, Number(declared.cpus) * 1e9);
    // What the kernel applied to the running process, not what Docker recorded:
    const status = await rt.host.sshOk(`docker exec ${GATEWAY} cat /proc/1/status`);
    assert.match(status, /^Uid:\s+1000\s+1000\s+1000\s+1000$/m);
    assert.match(status, /^CapEff:\s+0000000000000000$/m);
    assert.match(status, /^CapBnd:\s+0000000000000000$/m);
    assert.match(status, /^NoNewPrivs:\s+1$/m);
    const writeRoot = await rt.host.ssh(`docker exec ${GATEWAY} sh -c 'touch /app/x'`);
    assert.notEqual(writeRoot.status, 0);
    assert.match(writeRoot.stderr, /Read-only file system/);
    const mounts = await rt.host.sshOk(`docker exec ${GATEWAY} cat /proc/self/mounts`);
    assert.match(mounts, /^tmpfs \/tmp tmpfs rw,nosuid,[^ ]*noexec/m);
    for (const secret of ["openclaw-gateway-token", "litellm-key"]) {
      assert.match(mounts, new RegExp(`^\\S+ /run/secrets/${secret} \\S+ ro,`, "m"), `${secret} mounted read-only`);
    }
    // The rendered openclaw.json reads the token from the file mounted where it says.
    const config = JSON.parse(await rt.host.sshOk(`docker exec ${GATEWAY} cat /etc/openclaw/openclaw.json`));
    assert.equal(config.secrets.providers.gatewaytoken.path, "/run/secrets/openclaw-gateway-token");
    assert.equal((await rt.host.sshOk(`docker exec ${GATEWAY} cat /run/secrets/openclaw-gateway-token`)), rt.applier.secret(`${GATEWAY}-token`));
    // The cgroup limits the daemon set.
    assert.equal((await rt.host.sshOk(`docker exec ${GATEWAY} cat /sys/fs/cgroup/memory/memory.limit_in_bytes`)).trim(), String(declared.memory * 1024 * 1024));
  });

  it("turns healthy by its own Docker healthcheck", { timeout: 180_000 }, async () => {
    const seconds = await waitHealthy(rt.host, GATEWAY, 150);
    console.log(`runtime gateway: docker healthy after a further ${seconds.toFixed(1)} s`);
  });

  it("refuses POST /tools/invoke without a token or with a wrong one, and accepts the placed token", async () => {
    // From the VPS to the gateway's address on the internal network (not a trusted proxy): a peer workload's view.
    const internalIp = (await inspectContainer(rt.host, GATEWAY)).NetworkSettings.Networks["openclaw-net"].IPAddress;
    const url = `http://${internalIp}:18789/tools/invoke`;
    const body = `-X POST -H 'Content-Type: application/json' --data '{"tool":"sessions_list","args":{}}'`;
    const token = rt.applier.secret(`${GATEWAY}-token`);
    const call = async (auth: string | undefined) => {
      // The bearer header travels on stdin (curl -H @-), never on a command line.
      const r = await rt.host.ssh(`curl -s -w '\\n%{http_code}' --max-time 10 ${body} ${auth === undefined ? "" : "-H @-"} ${url}`, { input: auth ?? "" });
      const lines = r.stdout.trimEnd().split("\n");
      return { code: Number(lines.pop()), body: lines.join("\n") };
    };
    for (const [what, auth] of [["no token", undefined], ["a wrong token", `Authorization: Bearer ${token.slice(0, -4)}beef\n`]] as const) {
      const r = await call(auth);
      assert.equal(r.code, 401, `${what}: ${r.code} ${r.body}`);
    }
    const ok = await call(`Authorization: Bearer ${token}\n`);
    assert.equal(ok.code, 200, ok.body);
  });

  it("keeps its state volume across a container restart", { timeout: 400_000 }, async () => {
    // Everything but the disposable cache; identity files must come back byte for byte.
    const listState = () => rt.host.sshOk(`docker exec ${GATEWAY} sh -c 'cd /home/node/.openclaw && find . -path ./cache -prune -o -type f -print | sort | xargs -r sha256sum'`);
    const before = await listState();
    assert.match(before, /\.\/state\/openclaw\.sqlite$/m, "the gateway keeps its state database on the volume");
    await rt.host.sshOk(`docker restart ${GATEWAY}`);
    console.log(`runtime gateway: /healthz 200 again ${(await waitHealthz()).toFixed(1)} s after restart`);
    const afterRestart = await listState();
    // SQLite's write-ahead log and shared-memory files come and go with checkpoints.
    const files = (s: string) => s.trim().split("\n").map((l) => l.split(/\s+/)[1] ?? "").filter((f) => !/-(wal|shm|journal)$/.test(f));
    for (const f of files(before)) assert.ok(files(afterRestart).includes(f), `${f} survives the restart`);
    for (const line of before.trim().split("\n").filter((l) => /\/identity\//.test(l))) {
      assert.ok(afterRestart.includes(line), `identity file unchanged across the restart: ${line}`);
    }
  });
});
