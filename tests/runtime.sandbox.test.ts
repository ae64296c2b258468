/**
 * Proof 4 on a real VPS: the sandbox, end to end. An operator's agent turn
 * (`openclaw agent` in the gateway container: no messaging channel) goes
 * gateway → Squid → LiteLLM → Squid → a stand-in provider, which answers with
 * a call of OpenClaw's `exec` tool. OpenClaw creates its sandbox through the
 * socket proxy (DOCKER_HOST = the proxy's listener; the gateway has no
 * docker.sock) on the VPS's real daemon, runs the command there, and the
 * command's output reaches the provider's next request. The sandbox's shape
 * is read from the daemon itself (inspect over SSH on the daemon's own
 * socket), not from anything the proxy answered. OpenClaw keeps a sandbox for
 * the agent's next turns and reaps idle ones by its prune policy (default
 * idleHours 24, maxAgeDays 7: too slow for a test), so the test removes it the
 * way an operator does, `openclaw sandbox recreate --all`, through the proxy,
 * and checks the daemon holds no sandbox afterwards.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { dockerApi, inspectContainer } from "./support/apply";
import { GATEWAY, ModelPath, startModelPath } from "./support/modelPath";
import { runtimeSkip } from "./support/runtime";

const skip = runtimeSkip("runtime: sandbox");
const MiB = 1024 * 1024;
/** Output only the sandbox can produce: its hostname (the container's id prefix), its uid, and arithmetic the prompt does not contain. */
const COMMAND = 'echo "sbx:$(hostname):$(id -u):$((6*7))"';

describe("runtime: the sandbox, end to end, on a real VPS", { skip, timeout: 1_200_000 }, () => {
  let mp: ModelPath;
  const t0 = Date.now();
  let turn: { status: number; stdout: string; stderr: string; seconds: number };
  let sandboxId = "";

  /** Sandbox containers as the daemon lists them (root's own socket, not the proxy). */
  const daemonSandboxes = async (): Promise<string[]> => {
    const r = await dockerApi(mp.rt.host, "GET", `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: ["openclaw.sandbox=1"] }))}`);
    assert.equal(r.status, 200);
    return (r.body as { Id: string }[]).map((c) => c.Id);
  };

  before(async () => {
    mp = await startModelPath({ standin: { reply: "no tool offered", command: COMMAND }, socketProxy: true });
    console.log(`runtime sandbox: ${JSON.stringify(mp.timings)}`);
    assert.deepEqual(await daemonSandboxes(), [], "no sandbox before the turn");
    const started = Date.now();
    turn = await mp.agentTurn("run the marker command", 600);
    const first = (await mp.providerRequests()).find((q) => q.method === "POST" && JSON.stringify(q.body.messages).includes("run the marker command"));
    const firstAfter = first ? `${((Date.parse(first.at) - started) / 1000).toFixed(1)} s` : "never";
    console.log(`runtime sandbox: agent turn ${turn.seconds.toFixed(1)} s (exit ${turn.status}), first model request after ${firstAfter}`);
  });
  after(() => {
    if (mp) console.log(`runtime sandbox: teardown ${mp.teardown().toFixed(1)} s; proof wall time ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });

  it("the gateway reaches Docker only through its socket-proxy listener", async () => {
    const info = await inspectContainer(mp.rt.host, GATEWAY);
    assert.ok(info.Config.Env.includes("DOCKER_HOST=unix:///run/openclaw-docker/docker.sock"), info.Config.Env.join(" "));
    const binds: string[] = info.HostConfig.Binds;
    assert.equal(binds.some((b) => b.startsWith("/var/run/docker.sock") || b.startsWith("/run/docker.sock")), false, binds.join(" "));
    assert.ok(binds.includes("/run/openclaw/docker-proxy/primary:/run/openclaw-docker:ro"), binds.join(" "));
  });

  it("the turn completes, and the command's output reaches the provider's next request", async () => {
    assert.equal(turn.status, 0, `${turn.stdout}\n${turn.stderr}\n${(await mp.rt.host.ssh(`docker logs --tail 80 ${GATEWAY} 2>&1`)).stdout}`);
    // Completions only (LiteLLM also lists the provider's models when it starts).
    const requests = (await mp.providerRequests()).filter((q) => q.method === "POST");
    const first = requests.findIndex((q) => JSON.stringify(q.body.messages).includes("run the marker command"));
    assert.notEqual(first, -1, "the provider received the operator's message");
    const toolResults = requests.slice(first + 1).flatMap((q) => (q.body.messages as { role: string; content: unknown }[]).filter((m) => m.role === "tool"));
    const output = JSON.stringify(toolResults.map((m) => m.content));
    const marker = /sbx:([0-9a-f]{12}):(\d+):42/.exec(output);
    assert.ok(marker, `no command output in the provider's later requests: ${output.slice(0, 2000)}`);
    sandboxId = marker[1]!;
    const result = JSON.parse(turn.stdout);
    assert.equal(result.status, "ok", turn.stdout.slice(0, 2000));
    assert.deepEqual(result.result.meta.toolSummary, { calls: 1, tools: ["exec"], failures: 0 });
  });

  it("the daemon ran it in a sandbox of the required shape, created through the socket proxy", async () => {
    const ids = await daemonSandboxes();
    assert.equal(ids.length, 1, `sandboxes on the daemon: ${ids.join(" ")}`);
    assert.ok(ids[0]!.startsWith(sandboxId), `the command ran in ${sandboxId}, the daemon holds ${ids[0]}`);
    const sbx = await inspectContainer(mp.rt.host, ids[0]!);
    const hc = sbx.HostConfig;
    const limits = JSON.parse(mp.rt.render.fileContent("/etc/openclaw/openclaw.json")).agents.defaults.sandbox.docker;
    assert.equal(hc.NetworkMode, "none");
    assert.deepEqual(hc.CapDrop, ["ALL"]);
    assert.deepEqual(hc.CapAdd ?? [], []);
    assert.equal(hc.Privileged, false);
    assert.equal(hc.ReadonlyRootfs, true);
    assert.ok(hc.SecurityOpt.some((o: string) => /^no-new-privileges(:true|=true)?$/.test(o)), hc.SecurityOpt.join(" "));
    assert.equal(hc.Memory, Number.parseInt(limits.memory, 10) * MiB);
    assert.equal(hc.PidsLimit, limits.pidsLimit);
    assert.equal(hc.NanoCpus, Math.round(limits.cpus * 1e9));
    // The only binds are its own workspace, directly under the instance's sandbox root, and (read-only over it)
    // the workspace's own skills, which OpenClaw protects from the agent.
    const mounts = (sbx.Mounts as { Type: string; Source: string; Destination: string; RW: boolean }[]).filter((m) => m.Type !== "tmpfs");
    const workspace = mounts.find((m) => m.Destination === "/workspace");
    assert.ok(workspace, JSON.stringify(sbx.Mounts));
    assert.equal(workspace.Type, "bind");
    assert.match(workspace.Source, /^\/srv\/openclaw\/primary\/sandboxes\/[A-Za-z0-9][A-Za-z0-9_.-]*$/);
    for (const m of mounts.filter((x) => x !== workspace)) {
      assert.deepEqual([m.Type, m.RW], ["bind", false], JSON.stringify(m));
      assert.ok([["skills"], [".agents", "skills"]].some((p) => m.Destination === `/workspace/${p.join("/")}` && m.Source === `${workspace.Source}/${p.join("/")}`), JSON.stringify(m));
    }
    // What the kernel applied to the sandbox's processes.
    const status = await mp.rt.host.sshOk(`docker exec ${ids[0]} cat /proc/1/status`);
    assert.match(status, /^CapEff:\s+0000000000000000$/m);
    assert.match(status, /^NoNewPrivs:\s+1$/m);
    assert.deepEqual((await mp.rt.host.sshOk(`docker exec ${ids[0]} ls /sys/class/net`)).trim().split(/\s+/), ["lo"], "no network interface but loopback");
    // The proxy labels what it creates; the daemon shows the label, so the create came through the proxy.
    assert.equal(sbx.Config.Labels["openclaw.proxy.instance"], "primary");
  });

  it("the sandbox is removed through the proxy by the operator's `openclaw sandbox recreate --all`, and the daemon holds none afterwards", async () => {
    const r = await mp.rt.host.ssh(`docker exec ${GATEWAY} openclaw sandbox recreate --all --force`);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.deepEqual(await daemonSandboxes(), []);
  });
});
