/**
 * The test VPS harness itself (tests/support/vps.ts): two hosts boot with
 * systemd, sshd and dockerd, answer only with their pinned host key, reach
 * each other but nothing beyond the segment, and teardown leaves nothing
 * behind (namespaces, cgroups, mounts, processes, veths, files).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { describe, it } from "node:test";
import { missingTools } from "./support/tools";
import { bootVps, VpsCluster } from "./support/vps";

const skip = missingTools("vps harness", ["debootstrap", "systemd-nspawn", "ssh", "ssh-keygen", "ip"], true);

function leftovers(cluster: VpsCluster, prefix: string): string[] {
  const found: string[] = [];
  const netns = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout;
  const index = cluster.subnet.split(".")[2];
  for (const line of netns.split("\n")) if (line.startsWith(`${prefix}-${index}-`)) found.push(`netns ${line}`);
  const links = spawnSync("ip", ["-br", "link"], { encoding: "utf8" }).stdout;
  if (links.split("\n").some((l) => l.startsWith(`${prefix}${index}h`))) found.push("runner veth");
  const mounts = readFileSync("/proc/self/mounts", "utf8");
  for (const h of cluster.hosts) {
    if (mounts.includes(h.rootDir)) found.push(`mount ${h.rootDir}`);
    if (existsSync(h.rootDir)) found.push(`dir ${h.rootDir}`);
  }
  const cgroups = spawnSync("sh", ["-c", `find /sys/fs/cgroup -maxdepth 4 -type d -name '${prefix}-${index}-*'`], { encoding: "utf8" }).stdout.trim();
  if (cgroups) found.push(`cgroups ${cgroups}`);
  return found;
}

describe("test VPS harness", { skip }, () => {
  it("boots two Debian hosts with systemd, sshd and dockerd, pinned keys, one private segment, and tears down completely", { timeout: 300_000 }, async () => {
    const cluster = await bootVps({ hosts: ["alpha", "beta"], sudoUsers: ["deploy"] });
    let torn = false;
    try {
      console.log(`vps harness: 2 hosts up (ssh + dockerd) in ${cluster.bootSeconds.toFixed(1)} s`);
      const [alpha, beta] = cluster.hosts as [typeof cluster.hosts[0], typeof cluster.hosts[0]];
      assert.equal((await alpha.sshOk("cat /proc/1/comm")).trim(), "systemd");
      assert.equal((await alpha.sshOk("hostname")).trim(), "alpha");
      assert.match(await alpha.sshOk("systemctl is-active ssh docker"), /^active\nactive\n$/);
      assert.match(await alpha.sshOk("docker version --format '{{.Server.Version}}'"), /^\d+\.\d+/);
      // Its own network namespace's sysctls are writable (Docker needs them); the machine's kernel settings are not.
      await alpha.sshOk("sysctl -q -w net.ipv4.conf.all.route_localnet=1");
      assert.notEqual((await alpha.ssh("sysctl -q -w kernel.dmesg_restrict=1")).status, 0, "a VPS must not change the machine's kernel settings");
      // Secrets travel on stdin.
      assert.equal(await alpha.sshOk("cat", { input: "on-stdin" }), "on-stdin");
      // The sudo user logs in with the same key and gets root without a password.
      assert.equal((await alpha.sshOk("sudo -n id -u", { user: "deploy" })).trim(), "0");
      // The docker CLI on the runner drives the host's daemon over SSH.
      const info = spawnSync("docker", ["info", "--format", "{{.Name}}"], { env: alpha.dockerEnv(), encoding: "utf8" });
      assert.equal(info.status, 0, info.stderr);
      assert.equal(info.stdout.trim(), "alpha");

      // A known_hosts holding another key is refused: the host key is really pinned.
      const wrong = `${cluster.knownHostsPath}.wrong`;
      writeFileSync(wrong, `${alpha.address} ${beta.hostKey}\n`);
      const args = alpha.sshArgs("root", true).map((a) => (a === `UserKnownHostsFile=${cluster.knownHostsPath}` ? `UserKnownHostsFile=${wrong}` : a));
      const refused = spawnSync("ssh", [...args, "--", "true"], { encoding: "utf8" });
      assert.notEqual(refused.status, 0);
      assert.match(refused.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);

      // Hosts share one segment; nothing beyond it is routable.
      assert.equal(await alpha.sshOk(`timeout 3 bash -c '</dev/tcp/${beta.address}/22' && echo ok`), "ok\n");
      const out = await alpha.ssh("ip route get 1.1.1.1");
      assert.notEqual(out.status, 0, "a VPS must have no route off the segment");
    } finally {
      const seconds = cluster.teardown();
      torn = true;
      console.log(`vps harness: teardown in ${seconds.toFixed(1)} s`);
    }
    assert.ok(torn);
    assert.deepEqual(leftovers(cluster, "ocrt"), []);
  });
});
