/**
 * Proof 6 on a real VPS: the whole single-vps render applied the way the
 * engine applies it — every remote Command (files, firewall, baseline,
 * operations) run over SSH as the stack's `deploy` user with sudo, every
 * network, volume and container created from its resource — then:
 *   - a second run of every Command changes nothing on the host (files,
 *     firewall rules, enabled units, timers);
 *   - the timers exist and each service runs once successfully against the
 *     real containers (watchdog sees them, backup of the real gateway volume,
 *     verification), and a restore drill from that backup gives back the volume;
 *   - after the baseline, root cannot log in and the admin user can.
 *
 * One deviation, by necessity: kernel.*, vm.* and fs.* sysctls are global to
 * the machine running the tests (a system container shares its kernel), so the
 * sysctl activation applies only the network-namespaced keys and checks that
 * every other key exists; everything else runs as rendered.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { inspectContainer } from "./support/apply";
import { STACK_IMAGE_KEYS } from "./support/images";
import { Runtime, runtimeSkip, startRuntime } from "./support/runtime";
import type { RenderedResourceJson } from "./support/render";

const skip = runtimeSkip("runtime: host side");
const SYSCTL_ACTIVATE = "vps-baseline-sysctl-activate";
const TIMERS = ["openclaw-backup", "openclaw-backup-verify", "openclaw-watchdog", "openclaw-audit", "openclaw-token-age"];

/** What must not change on a second run: rendered files, firewall, enabled units and timers, docker config. */
const SNAPSHOT = `set -eu
for f in $(cat /tmp/rendered-paths); do sha256sum "$f"; stat -c '%n %a %u:%g' "$f"; done
ufw status verbose
ufw show added
iptables-save | sed -E 's/\\[[0-9]+:[0-9]+\\]//' | grep -v '^#'
systemctl list-unit-files --state=enabled --no-legend | sort
systemctl list-timers --all --no-legend | awk '{print $(NF-1), $NF}' | sort
docker info --format '{{json .SecurityOptions}} {{.LiveRestoreEnabled}}'
`;

describe("runtime: host side of the whole stack on a real VPS", { skip, timeout: 1_500_000 }, () => {
  let rt: Runtime;
  let commands: RenderedResourceJson[] = [];
  const sudo = (cmd: string) => rt.host.ssh(`sudo -n bash -c '${cmd.replace(/'/g, "'\\''")}'`, { user: "deploy" });
  const sudoOk = async (cmd: string) => {
    const r = await sudo(cmd);
    assert.equal(r.status, 0, `${cmd}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  };

  /** Every Command, in dependency order; the sysctl activation as stated above. */
  const applyCommands = async (): Promise<Map<string, string>> => {
    const results = await rt.applier.runCommands((r) => r.name !== SYSCTL_ACTIVATE);
    const sysctl = rt.render.fileContent("/etc/sysctl.d/99-openclaw.conf").split("\n").filter((l) => /^[a-z]/.test(l)).map((l) => l.split("=")[0]!.trim());
    await sudoOk(`grep -E '^net\\.' /etc/sysctl.d/99-openclaw.conf | sysctl -q -p - && for k in ${sysctl.join(" ")}; do sysctl -n "$k" >/dev/null; done`);
    return new Map([...results].map(([k, v]) => [k, v.stdout]));
  };

  before(async () => {
    rt = await startRuntime({ images: [...STACK_IMAGE_KEYS] });
    console.log(`runtime host: VPS ${rt.timings.boot.toFixed(1)} s, load ${JSON.stringify(rt.timings.load)}`);
    commands = rt.render.resources.filter((r) => r.type === "command:remote:Command");
    const t0 = Date.now();
    const first = await applyCommands();
    assert.ok(first.size > 40, `ran ${first.size} commands`);
    for (const r of rt.render.resources.filter((x) => x.type === "docker:index/network:Network")) await rt.applier.createNetwork(r.name);
    for (const r of rt.render.resources.filter((x) => x.type === "docker:index/volume:Volume")) await rt.applier.createVolume(r.name);
    for (const r of rt.render.resources.filter((x) => x.type === "docker:index/container:Container")) await rt.applier.createContainer(r.name);
    console.log(`runtime host: whole stack applied in ${((Date.now() - t0) / 1000).toFixed(1)} s (${first.size} commands)`);
    const hostFiles = rt.render.files.filter((f) => f.target === "vps").map((f) => f.path);
    await rt.host.sshOk("cat > /tmp/rendered-paths", { input: hostFiles.join("\n") + "\n" });
  });
  after(() => {
    if (rt) console.log(`runtime host: teardown ${rt.teardown().toFixed(1)} s`);
  });

  it("a second run of every command changes nothing on the host", async () => {
    const before = await sudoOk(SNAPSHOT);
    const second = await applyCommands();
    const after = await sudoOk(SNAPSHOT);
    assert.equal(after, before);
    const placed = commands.filter((c) => typeof c.inputs["create"] === "string" && c.inputs["create"].includes("mktemp")).map((c) => c.name);
    for (const name of placed) assert.match(second.get(name) ?? "", /^unchanged /, `${name} reports unchanged on the second run`);
    assert.match(second.get("vps-baseline-packages") ?? "", /packages unchanged/);
    assert.match(second.get("vps-firewall-apply") ?? "", /unchanged|no change/i);
  });

  it("enforces the firewall and the SSH baseline: root is refused, the admin user gets in", async () => {
    assert.match(await sudoOk("ufw status verbose"), /Status: active/);
    const root = await rt.host.ssh("true", { fresh: true });
    assert.notEqual(root.status, 0, "root login must be refused after the baseline");
    assert.equal((await rt.host.sshOk("id -un", { user: "deploy", fresh: true })).trim(), "deploy");
  });

  it("closes the VPS's own sshd to a container on the internal network (a compromised workload)", async () => {
    const node = (await inspectContainer(rt.host, "openclaw-docker-proxy", "deploy")).Config.Image;
    const probe = `docker run --rm --network openclaw-net ${node} node -e "require('net').connect({host:'${rt.host.address}',port:22,timeout:3000}).on('connect',()=>{console.log('open');process.exit(0)}).on('error',e=>{console.log('closed '+e.code);process.exit(0)}).on('timeout',()=>{console.log('closed timeout');process.exit(0)})"`;
    assert.match(await sudoOk(probe), /^closed /);
  });

  it("admits a burst of new SSH logins from the admin address, as `pulumi up` opens one per remote Command", {
    todo: "FirewallRules rate-limits the admin SSH port (`ufw limit`: the 6th new connection within 30 s is rejected), which refuses a second `pulumi up` of this stack's ~50 Commands; seen as 'Connection refused' mid-apply",
  }, async () => {
    const results = [];
    for (let i = 0; i < 10; i++) results.push((await rt.host.ssh("true", { user: "deploy", fresh: true })).status);
    assert.deepEqual(results, Array(10).fill(0));
  });

  it("has every operations timer enabled and scheduled", async () => {
    const timers = await sudoOk("systemctl list-timers --all --no-legend");
    for (const t of TIMERS) {
      assert.match(timers, new RegExp(`${t}\\.timer`), `${t}.timer listed`);
      assert.equal((await sudoOk(`systemctl is-enabled ${t}.timer`)).trim(), "enabled");
    }
  });

  it("runs the watchdog once: it inspects every real container and reports no problem", async () => {
    for (const name of ["openclaw-docker-proxy", "openclaw-egress", "openclaw-litellm", "openclaw-primary", "openclaw-caddy"]) {
      assert.equal((await inspectContainer(rt.host, name, "deploy")).State.Status, "running", `${name} running`);
    }
    const r = await sudo("systemctl start openclaw-watchdog.service; systemctl show -p Result --value openclaw-watchdog.service; journalctl -u openclaw-watchdog.service --no-pager -o cat | tail -5");
    assert.match(r.stdout, /^success\n/, r.stdout);
    assert.match(r.stdout, /watchdog: 0 problem\(s\)/);
    // The watchdog can fail: a stopped container is reported.
    await sudoOk("docker stop -t 1 openclaw-caddy");
    const failed = await sudo("systemctl start openclaw-watchdog.service; systemctl show -p Result --value openclaw-watchdog.service; journalctl -u openclaw-watchdog.service --no-pager -o cat | tail -3");
    assert.match(failed.stdout, /^exit-code\n/);
    assert.match(failed.stdout, /openclaw-caddy: status exited/);
    await sudoOk("docker start openclaw-caddy");
  });

  it("backs up the real gateway volume, verifies it, and a restore drill gives it back", async () => {
    const volume = "/var/lib/docker/volumes/openclaw-primary-data/_data";
    const t0 = Date.now();
    while ((await sudo(`test -n "$(find ${volume} -mindepth 1 -type f -print -quit)"`)).status !== 0) {
      assert.ok(Date.now() - t0 < 60_000, "the gateway wrote nothing to its state volume within 60 s");
      await new Promise((r) => setTimeout(r, 1000));
    }
    for (const unit of ["openclaw-backup", "openclaw-backup-verify"]) {
      const r = await sudo(`systemctl start ${unit}.service; systemctl show -p Result --value ${unit}.service; journalctl -u ${unit}.service --no-pager -o cat | tail -5`);
      assert.match(r.stdout, /^success\n/, `${unit}: ${r.stdout}`);
    }
    // Restore drill: the latest snapshot restored elsewhere equals the volume (the gateway is stopped so it holds still).
    await sudoOk("docker stop -t 10 openclaw-primary");
    const drill = await sudoOk(`set -eu
      export RESTIC_REPOSITORY=/var/backups/openclaw-restic RESTIC_PASSWORD_FILE=/etc/openclaw/ops/restic-password
      systemctl start openclaw-backup.service
      rm -rf /tmp/drill && restic restore latest --target /tmp/drill >/dev/null
      diff -r ${volume} /tmp/drill${volume} && echo identical
      find /tmp/drill${volume} -type f | wc -l`);
    assert.match(drill, /^identical\n[1-9]\d*\n$/);
    await sudoOk("docker start openclaw-primary");
  });

  it("runs the weekly audit and the token-age reminder once", async () => {
    for (const unit of ["openclaw-audit", "openclaw-token-age"]) {
      const r = await sudo(`systemctl start ${unit}.service; systemctl show -p Result --value ${unit}.service; journalctl -u ${unit}.service --no-pager -o cat | tail -5`);
      assert.match(r.stdout, /^success\n/, `${unit}: ${r.stdout}`);
    }
  });
});
