/**
 * A real Debian 12 host (systemd PID 1, sshd) for the tailscale-host suite,
 * booted with systemd-nspawn in a network namespace of its own
 * (shared/notes/real-host.md), wired like a tailnet VPS:
 *
 *   octs-inet-N (10.213.N.2) --eth0 10.213.N.1-- [host octs-host-N] --tailscale0 10.213.(N+100).1-- octs-tail-N (10.213.(N+100).2)
 *
 * `tailscale0` is a veth standing in for Tailscale's interface (tailscaled
 * cannot join a tailnet offline): UFW rules for tailscale0 are enforced on it
 * exactly as on the real one. The test reaches the host over SSH from the
 * "tailnet" namespace, as Pulumi would. The host has no route out; npm
 * tarballs reach it through a CONNECT proxy that allows only the npm
 * registry, bridged into the host namespace's loopback by a unix socket.
 */
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, readdirSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { debianMirror, run } from "./tools";

const CACHE = process.env["OPENCLAW_INFRA_CACHE"] ?? "/var/cache/openclaw-infra";
/** Bump the suffix when the preparation below changes: a new directory is prepared. */
export const ROOTFS = join(CACHE, "rootfs/tshost-bookworm-3");
/** Debian packages the host scripts expect to find installed (the baseline's, plus what the suite uses). */
const PACKAGES = ["systemd", "systemd-sysv", "dbus", "openssh-server", "iproute2", "sudo", "curl", "ca-certificates", "jq", "restic",
  "ufw", "iptables", "procps", "fail2ban", "unattended-upgrades", "apt-listchanges", "docker.io", "python3-systemd"];

function must(file: string, args: string[], input?: string): string {
  const result = run(file, args, { input });
  if (result.status !== 0) throw new Error(`${file} ${args.join(" ")}: exit ${result.status}\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** Builds the Debian root filesystem once (debootstrap, ~2 min cold) and keeps it in the cache. */
export function ensureRootfs(): void {
  if (existsSync(join(ROOTFS, ".ready"))) return;
  const tmp = `${ROOTFS}.tmp`;
  if (!existsSync(join(tmp, "usr/sbin/sshd"))) {
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(join(CACHE, "rootfs"), { recursive: true });
    must("debootstrap", ["--variant=minbase", `--include=${PACKAGES.join(",")}`, "bookworm", tmp, debianMirror()]);
  }
  // The deploy user Pulumi connects as: key-only SSH, passwordless sudo (as the stack expects).
  must("chroot", [tmp, "bash", "-c", [
    "set -e",
    "id deploy >/dev/null 2>&1 || useradd --create-home --shell /bin/bash deploy",
    "echo 'deploy ALL=(ALL) NOPASSWD:ALL' >/etc/sudoers.d/deploy && chmod 0440 /etc/sudoers.d/deploy",
    "systemctl enable ssh >/dev/null 2>&1",
    // Nothing of the machine's services that would fight over a container: no docker/containerd at boot.
    "systemctl disable docker.service docker.socket containerd.service >/dev/null 2>&1 || true",
    "echo octs-host >/etc/hostname",
    "grep -q octs-host /etc/hosts || printf '127.0.0.1 localhost\\n127.0.1.1 octs-host\\n' >/etc/hosts",
    "printf 'nameserver 127.0.0.1\\n' >/etc/resolv.conf",
    // nspawn mounts cgroups and /proc/sys read-only; dockerd (restarted by the baseline) needs them writable
    // (the same fix as the runtime harness, scripts/build-vps-rootfs.sh).
    "printf '#!/bin/sh\\nmountpoint -q /proc/sys/net || mount --bind /proc/sys/net /proc/sys/net\\nfor d in /sys/fs/cgroup/*/ /proc/sys/net; do mount -o remount,bind,rw \"$d\" || true; done\\n' >/usr/local/sbin/octs-writable-kernel-fs",
    "chmod 0755 /usr/local/sbin/octs-writable-kernel-fs",
    "printf '[Unit]\\nDefaultDependencies=no\\nBefore=sysinit.target docker.service containerd.service\\n[Service]\\nType=oneshot\\nExecStart=/usr/local/sbin/octs-writable-kernel-fs\\nRemainAfterExit=yes\\n[Install]\\nWantedBy=sysinit.target\\n' >/etc/systemd/system/octs-writable-kernel-fs.service",
    "systemctl enable octs-writable-kernel-fs.service >/dev/null 2>&1",
    "ln -sf /dev/null /etc/systemd/system/apt-daily.timer; ln -sf /dev/null /etc/systemd/system/apt-daily-upgrade.timer",
  ].join("\n")]);
  writeFileSync(join(tmp, ".ready"), new Date().toISOString());
  renameSync(tmp, ROOTFS);
}

/**
 * A CONNECT-only proxy on a unix socket that admits one host:443 (the npm
 * registry). Its own process: the suite blocks in spawnSync while the host
 * downloads through it.
 */
const REGISTRY_PROXY = `
const http = require("node:http"), net = require("node:net");
const [socketPath, allowedHost] = process.argv.slice(1);
const server = http.createServer((_req, res) => res.writeHead(405).end());
server.on("connect", (req, client, head) => {
  if (req.url !== allowedHost + ":443") { client.end("HTTP/1.1 403 Forbidden\\r\\n\\r\\n"); return; }
  const upstream = net.connect(443, allowedHost, () => {
    client.write("HTTP/1.1 200 Connection Established\\r\\n\\r\\n");
    upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.on("error", () => client.destroy());
  client.on("error", () => upstream.destroy());
});
server.listen(socketPath);
`;

export interface TailnetHost {
  /** Runs a command on the host as `deploy` over SSH from the tailnet namespace. */
  ssh(command: string, input?: string, timeoutMs?: number): { status: number; stdout: string; stderr: string };
  /** Runs a rendered root script the way the stack does (sudo, bash, script on stdin), with the registry proxy. */
  runScript(script: string, stdin?: string): { status: number; stdout: string; stderr: string };
  /** Runs a command in the "internet" or "tailnet" peer namespace. */
  inPeer(peer: "inet" | "tail", file: string, args: string[]): { status: number; stdout: string; stderr: string };
  hostAddress: { eth0: string; tailscale0: string };
  /** The proxy URL inside the host (loopback). */
  proxyUrl: string;
  stop(): void;
}

export async function bootTailnetHost(index: number, registryHost: string): Promise<TailnetHost> {
  ensureRootfs();
  const dir = mkdtempSync("/tmp/octs-");
  // Docker's storage cannot live on the overlay: its own directory, bound in.
  const [upper, work, merged, dockerDir] = ["upper", "work", "merged", "docker"].map((d) => { mkdirSync(join(dir, d)); return join(dir, d); }) as [string, string, string, string];
  must("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${ROOTFS},upperdir=${upper},workdir=${work}`, merged]);

  const ns = { host: `octs-host-${index}`, inet: `octs-inet-${index}`, tail: `octs-tail-${index}` };
  const eth = { host: `10.213.${index}.1`, peer: `10.213.${index}.2` };
  const ts = { host: `10.213.${index + 100}.1`, peer: `10.213.${index + 100}.2` };
  for (const name of Object.values(ns)) {
    spawnSync("ip", ["netns", "del", name]);
    must("ip", ["netns", "add", name]);
    must("ip", ["-n", name, "link", "set", "lo", "up"]);
  }
  const pair = (a: string, aNs: string, aAddr: string, b: string, bNs: string, bAddr: string) => {
    must("ip", ["link", "add", `${a}x${index}`, "type", "veth", "peer", "name", `${b}x${index}`]);
    must("ip", ["link", "set", `${a}x${index}`, "netns", aNs]);
    must("ip", ["link", "set", `${b}x${index}`, "netns", bNs]);
    must("ip", ["-n", aNs, "link", "set", `${a}x${index}`, "name", a]);
    must("ip", ["-n", bNs, "link", "set", `${b}x${index}`, "name", b]);
    must("ip", ["-n", aNs, "addr", "add", `${aAddr}/24`, "dev", a]);
    must("ip", ["-n", bNs, "addr", "add", `${bAddr}/24`, "dev", b]);
    must("ip", ["-n", aNs, "link", "set", a, "up"]);
    must("ip", ["-n", bNs, "link", "set", b, "up"]);
  };
  pair("eth0", ns.host, eth.host, "peer0", ns.inet, eth.peer);
  pair("tailscale0", ns.host, ts.host, "peer0", ns.tail, ts.peer);

  // npm's download cache survives the host (the releases are still installed and checked by the scripts): reruns are faster.
  const npmCache = join(CACHE, "npm-tshost");
  mkdirSync(npmCache, { recursive: true });

  // SSH access for the test: a fresh key, pinned host key.
  const keyFile = join(dir, "id_ed25519");
  must("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", keyFile]);
  mkdirSync(join(merged, "home/deploy/.ssh"), { recursive: true, mode: 0o700 });
  writeFileSync(join(merged, "home/deploy/.ssh/authorized_keys"), readFileSync(`${keyFile}.pub`));
  must("chroot", [merged, "chown", "-R", "deploy:deploy", "/home/deploy/.ssh"]);
  const hostKey = readFileSync(join(merged, "etc/ssh/ssh_host_ed25519_key.pub"), "utf8").split(" ").slice(0, 2).join(" ");
  writeFileSync(join(dir, "known_hosts"), `${ts.host} ${hostKey}\n`);

  // This machine's own trust anchors (an egress proxy may re-sign TLS here): the host trusts what the machine trusts.
  for (const name of existsSync("/usr/local/share/ca-certificates") ? readdirSync("/usr/local/share/ca-certificates") : []) {
    copyFileSync(join("/usr/local/share/ca-certificates", name), join(merged, "usr/local/share/ca-certificates", name));
  }
  must("chroot", [merged, "update-ca-certificates"]);
  // SSH sessions read /etc/environment (pam_env) and sudo keeps these two: the stack's commands reach the registry through the bridge.
  writeFileSync(join(merged, "etc/environment"), "https_proxy=http://127.0.0.1:3128\nNODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt\n");
  writeFileSync(join(merged, "etc/sudoers.d/octs-proxy"), 'Defaults env_keep += "https_proxy NODE_EXTRA_CA_CERTS"\n', { mode: 0o440 });

  // The registry proxy, bridged to 127.0.0.1:3128 inside the host namespace.
  const proxySocket = join(dir, "registry-proxy.sock");
  const children: ChildProcess[] = [];
  children.push(spawn(process.execPath, ["-e", REGISTRY_PROXY, proxySocket, registryHost], { stdio: "ignore" }));
  children.push(spawn("ip", ["netns", "exec", ns.host, "socat", "TCP-LISTEN:3128,bind=127.0.0.1,fork,reuseaddr", `UNIX-CONNECT:${proxySocket}`], { stdio: "ignore" }));

  const nspawn = spawn("systemd-nspawn", ["--register=no", "--keep-unit", "-M", ns.host, "-D", merged,
    `--network-namespace-path=/run/netns/${ns.host}`, "--resolv-conf=off", "--capability=all", "--system-call-filter=@keyring",
    `--bind=${dockerDir}:/var/lib/docker`, `--bind=${npmCache}:/var/cache/openclaw-npm`, "--console=read-only", "-b"], { stdio: ["ignore", "pipe", "pipe"] });
  let consoleLog = "";
  nspawn.stdout?.on("data", (c) => { consoleLog = (consoleLog + c).slice(-20000); });
  nspawn.stderr?.on("data", (c) => { consoleLog = (consoleLog + c).slice(-20000); });
  children.push(nspawn);

  const sshArgs = ["-i", keyFile, "-o", `UserKnownHostsFile=${join(dir, "known_hosts")}`, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
    "-o", "ConnectTimeout=5", `deploy@${ts.host}`];
  const ssh = (command: string, input?: string, timeoutMs = 600_000) => {
    const result = spawnSync("ip", ["netns", "exec", ns.tail, "ssh", ...sshArgs, command], { input, encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    return { status: result.status ?? 1, stdout: result.stdout ?? "", stderr: (result.stderr ?? "") + (result.error ? String(result.error) : "") };
  };
  const deadline = Date.now() + 90_000;
  for (;;) {
    const probe = ssh("systemctl is-system-running --wait", undefined, 60_000);
    if (probe.status === 0 || /degraded|running/.test(probe.stdout)) break;
    if (Date.now() > deadline || nspawn.exitCode !== null) {
      throw new Error(`host did not come up: ${probe.stderr}${probe.stdout}\n${consoleLog.slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  const proxyUrl = "http://127.0.0.1:3128";
  return {
    ssh,
    runScript: (script, stdin) => {
      // The script travels inside the command as the stack's asRoot() does, stdin stays free for secrets.
      const quoted = `'${script.replace(/'/g, "'\\''")}'`;
      return ssh(`sudo -n env https_proxy=${proxyUrl} NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt bash -c ${quoted}`, stdin ?? "");
    },
    inPeer: (peer, file, args) => run("ip", ["netns", "exec", ns[peer], file, ...args]),
    hostAddress: { eth0: eth.host, tailscale0: ts.host },
    proxyUrl,
    stop() {
      ssh("sudo -n systemctl poweroff", undefined, 10_000);
      const until = Date.now() + 15_000;
      while (nspawn.exitCode === null && Date.now() < until) spawnSync("sleep", ["0.2"]);
      for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
      spawnSync("umount", ["-l", merged]);
      for (const name of Object.values(ns)) spawnSync("ip", ["netns", "del", name]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function writeExecutable(dir: string, name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  chmodSync(file, 0o755);
  return file;
}
