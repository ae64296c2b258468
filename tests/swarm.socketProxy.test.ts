/**
 * The socket proxy's gateway rule in Swarm mode, against a REAL dockerd that
 * is a one-node Swarm manager (tests/socketProxy.harness.ts, `swarm: true`):
 * each gateway is a Swarm service, so its container is `<service>.1.<task id>`,
 * never the service name. The gateway's own self-identification (the two calls
 * OpenClaw's sandbox bind-source discovery makes: inspect by hostname, exec by
 * id) must pass; containers that only look like the gateway must not. Every
 * attack is judged on the daemon: the target gained no exec.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { SANDBOX_IMAGE } from "../components/socketProxy";
import { Harness, runService, serviceContainer, startHarness } from "./socketProxy.harness";
import { missingTools } from "./support/tools";

const skip = missingTools("socket proxy in Swarm mode (real dockerd)", ["dockerd", "docker"], true);
/** OpenClaw 2026.9.6's self-inspect format (dist/docker-*.mjs, discoverSourceNamespace). */
const SELF_INSPECT_FORMAT = '{"Id":{{json .ID}},"Mounts":{{json .Mounts}},"Tmpfs":{{json .HostConfig.Tmpfs}}}';

describe("socket proxy: a gateway that is a Swarm task", { skip }, () => {
  let h: Harness;
  before(async () => { h = await startHarness("ocsw-px", { swarm: true }); });
  after(async () => { await h?.stop(); });

  const info = async (ref: string) => (await h.d.api("GET", `/containers/${ref}/json`)).json();
  const execCount = async (ref: string) => ((await info(ref)).ExecIDs ?? []).length;

  test("the gateway's task identifies itself as OpenClaw does: inspect by its hostname, exec by the full id", async () => {
    const task = await info(h.gatewayId.a);
    assert.match(task.Name, /^\/openclaw-a\.1\.[a-z0-9]{25}$/, "a Swarm task's container is not named after its service");
    // OpenClaw's first candidate is os.hostname(): a task's hostname is its short container id.
    const hostname = task.Config.Hostname as string;
    assert.equal(h.gatewayId.a.startsWith(hostname), true);
    const r = h.docker("a", ["inspect", "--type", "container", "--format", SELF_INSPECT_FORMAT, hostname]);
    assert.equal(r.status, 0, r.stderr);
    const seen = JSON.parse(r.stdout);
    assert.equal(seen.Id, h.gatewayId.a);
    assert.equal(seen.Mounts[0].Destination, h.root("a"));
    const full = await h.api("a", "GET", `/v1.41/containers/${hostname}/json`);
    assert.equal(full.status, 200);
    assert.equal(full.body.includes("do-not-leak"), false, "the reduced inspect carries no env");
    const probe = h.docker("a", ["exec", h.gatewayId.a, "sh", "-c", `cat /proc/sys/kernel/random/boot_id; echo ran > ${h.root("a")}/self-exec`]);
    assert.equal(probe.status, 0, probe.stderr);
    assert.equal(probe.stdout.trim(), readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
    assert.equal(readFileSync(join(h.root("a"), "self-exec"), "utf8"), "ran\n", "the exec ran inside the task (its bind, seen on the host)");
  });

  describe("containers that look like the gateway are refused, and the daemon shows no exec in them", () => {
    const targets: [string, () => string][] = [];
    before(async () => {
      const gateway = await info(h.gatewayId.a);
      const run = (args: string[]) => {
        const r = h.d.docker(["run", "-d", "--network", "none", ...args, SANDBOX_IMAGE, "sleep", "3600"]);
        assert.equal(r.status, 0, r.stderr);
        return r.stdout.trim();
      };
      // Every label the daemon gave the real task, copied onto a plain container with the task's own name
      // pattern: only the manager's task record tells them apart.
      const forgedLabels = Object.entries(gateway.Config.Labels as Record<string, string>).flatMap(([k, v]) => ["--label", `${k}=${v}`]);
      const lookalike = run(["--name", `openclaw-a.1.${"x".repeat(25)}`, ...forgedLabels]);
      const named = run(["--name", "openclaw-a"]);
      // A service cannot forge them either: the Swarm executor writes com.docker.swarm.* over the spec's labels.
      const labelled = runService(h.d, "openclaw-evil", ["--container-label", "com.docker.swarm.service.name=openclaw-a",
        "--container-label", `com.docker.swarm.task.id=${gateway.Config.Labels["com.docker.swarm.task.id"]}`]);
      const other = runService(h.d, "openclaw-egress", []);
      targets.push(
        ["a plain container carrying every label of the gateway's task", () => lookalike],
        ["a plain container named exactly like the gateway's service", () => named],
        ["another service's task whose spec sets the gateway's swarm labels", () => labelled],
        ["another service's task", () => other],
        ["instance b's gateway task, from instance a's listener", () => h.gatewayId.b],
      );
      assert.equal((await info(labelled)).Config.Labels["com.docker.swarm.service.name"], "openclaw-evil", "the executor overrode the forged label");
    });

    test("inspect and exec refused for each", async () => {
      for (const [what, id] of targets) {
        for (const ref of [id(), id().slice(0, 12)]) {
          // An exec the daemon accepted stays in ExecIDs until it is started: the create is what must not pass.
          const before = await execCount(id());
          const seen = await h.api("a", "GET", `/v1.41/containers/${ref}/json`);
          assert.equal(seen.status, 403, `${what}: inspect ${seen.body}`);
          const exec = await h.api("a", "POST", `/v1.41/containers/${ref}/exec`, { Cmd: ["id"], AttachStdout: true });
          assert.equal(exec.status, 403, `${what}: exec ${exec.body}`);
          assert.equal(await execCount(id()), before, `${what}: the daemon holds no new exec`);
        }
      }
    });

    test("the gateway's previous task, after an update replaced it, is no longer the gateway", async () => {
      const old = h.gatewayId.a;
      const updated = h.d.docker(["service", "update", "--detach=false", "--quiet", "--force", "openclaw-a"]);
      assert.equal(updated.status, 0, updated.stderr);
      assert.equal((await h.api("a", "GET", `/v1.41/containers/${old}/json`)).status, 403);
      const current = serviceContainer(h.d, "openclaw-a");
      assert.notEqual(current, old);
      assert.equal((await h.api("a", "GET", `/v1.41/containers/${current}/json`)).status, 200, "the new task is");
    });
  });
});
