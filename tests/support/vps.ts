/**
 * Test VPSes: real Debian 12 hosts (systemd as PID 1, sshd, Docker Engine)
 * booted as system containers, each in its own network namespace, reached
 * over SSH with a freshly generated client key and a pinned host key, exactly
 * as `pulumi up` reaches a real VPS (shared/notes/real-docker.md).
 *
 *   const vps = await bootVps({ hosts: ["vps"] });
 *   try { await vps.hosts[0].ssh("docker info") } finally { vps.teardown() }
 *
 * Layout per cluster N (one /24 of the caller's /16, one switch namespace):
 *   runner  <PREFIX>N-h  A.B.N.1  ──┐
 *                          netns <PREFIX>-N-sw: bridge br0
 *   host i  netns <PREFIX>-N-<name>, eth0 A.B.N.(10+i), no default route:
 *           nothing leaves the machine; hosts and runner share one segment.
 *   `tailnet`: also tailscale0 A.B.(128+N).(10+i) on a second bridge br1,
 *           runner <PREFIX>Nt A.B.(128+N).1; SSH goes over it.
 * Each host's root is an overlayfs over the cached rootfs; /var/lib/docker is
 * a plain directory (Docker's overlay2 cannot sit on overlayfs). teardown()
 * kills every process in the host's cgroups and removes the cgroups, mounts,
 * namespaces, veths and files; it also runs on process exit, and a later boot
 * reaps clusters whose owning process died.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BASELINE_PACKAGES } from "../../components/hostBaseline";
import { CACHE_ROOT, PROJECT_ROOT } from "./tools";

/** What every test VPS has installed: a VPS image plus what the rendered host scripts install. */
export const VPS_PACKAGES = [...new Set([
  "systemd", "systemd-sysv", "dbus", "openssh-server", "iproute2", "iptables", "procps", "sudo", "curl", "ca-certificates",
  ...BASELINE_PACKAGES,
])].sort();

const ROOTFS_SCRIPT = join(PROJECT_ROOT, "scripts/build-vps-rootfs.sh");
/** Per-cluster scratch (overlay layers, Docker data, keys): on disk, outside the clone. */
const SCRATCH_ROOT = "/var/tmp/openclaw-infra-vps";

export interface VpsOptions {
  /** Host names (hostnames inside, and part of the namespace names). */
  hosts: string[];
  /**
   * Namespace/interface/cgroup prefix, at most 6 characters; one per branch so
   * parallel suites never collide: runtime "ocrt", engine "oceng", swarm
   * "ocsw", tailscale-host "octs", proxy "ocpx".
   */
  prefix?: string;
  /** The /16 the clusters' /24s come from, e.g. "10.210.0.0/16". */
  range?: string;
  /** Non-root users to create with the same client key and passwordless sudo (a provisioned VPS's admin user). */
  sudoUsers?: string[];
  /** Seconds to wait for sshd and dockerd. */
  bootTimeoutSeconds?: number;
  /** Debian packages beyond VPS_PACKAGES (a rootfs of its own, cached by its recipe like the default one). */
  extraPackages?: string[];
  /**
   * A tailnet-only host: each host also gets `tailscale0`, a veth on a second segment A.B.(128+N).0/24 that
   * the runner joins at .1 (a stand-in for Tailscale's interface: UFW's rules for it are enforced exactly as
   * on the real one), and SSH goes over it. eth0 stays the "internet" side, where the runner also sits.
   */
  tailnet?: boolean;
}

export interface CommandResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface SshOptions {
  /** Sent on stdin: the way secrets reach a host. A Buffer or a file path stream. */
  input?: string | Buffer;
  /** Path of a file streamed to stdin (e.g. an image tarball for `docker load`). */
  inputFile?: string;
  user?: string;
  timeoutSeconds?: number;
  /** A new SSH connection instead of the shared one (to see what a new login gets). */
  fresh?: boolean;
}

export interface VpsHost {
  name: string;
  /** Address on the cluster's segment; the runner reaches it directly. */
  address: string;
  /** With `tailnet`: the host's tailscale0 address, which SSH uses. */
  tailnetAddress?: string;
  sshPort: number;
  /** The host's public key: "ssh-ed25519 AAAA...". */
  hostKey: string;
  /** The pinned known_hosts line (infra/hosts.ts knownHostsEntry format). */
  knownHosts: string;
  /** Network namespace the host runs in (e.g. to attack it from outside with `ip netns exec`). */
  netns: string;
  /** The host's root directory as the runner sees it (its overlay, merged). */
  rootDir: string;
  /** `ssh` argv up to and including the destination: append `--` and a command. */
  sshArgs(user?: string, fresh?: boolean): string[];
  /** Runs a shell command on the host over SSH. */
  ssh(command: string, options?: SshOptions): Promise<CommandResult>;
  /** Like ssh(), but throws with stderr when the command fails; returns stdout. */
  sshOk(command: string, options?: SshOptions): Promise<string>;
  /** Environment for the docker CLI on the runner to drive this host's daemon over SSH (DOCKER_HOST=ssh://...). */
  dockerEnv(user?: string): NodeJS.ProcessEnv;
}

export interface VpsCluster {
  hosts: VpsHost[];
  host(name: string): VpsHost;
  /** The runner's address on the segment (what a firewall must admit for SSH). */
  runnerAddress: string;
  /** With `tailnet`: the runner's address on the tailnet segment. */
  tailnetRunnerAddress?: string;
  /** The segment, e.g. 10.210.3.0/24. */
  subnet: string;
  /** Private key file every host accepts (for root and sudoUsers). */
  privateKeyPath: string;
  /** known_hosts file holding every host's pinned key. */
  knownHostsPath: string;
  /** ssh_config making `ssh HOSTNAME` use the key and pinned keys (for tools that shell out to ssh). */
  sshConfigPath: string;
  bootSeconds: number;
  /** Removes everything; idempotent; returns the seconds it took. */
  teardown(): number;
}

function sh(file: string, args: string[], options: { input?: string; allowFail?: boolean } = {}): CommandResult {
  const r = spawnSync(file, args, { input: options.input, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  const result = { status: r.status ?? 1, stdout: r.stdout ?? "", stderr: r.stderr ?? String(r.error ?? "") };
  if (result.status !== 0 && !options.allowFail) {
    throw new Error(`${file} ${args.join(" ")} failed (${result.status}): ${result.stderr.trim()}`);
  }
  return result;
}

const ip = (...args: string[]) => sh("ip", args);

// ---------------------------------------------------------------- rootfs

/** Builds (once per recipe) and returns the extracted rootfs directory. */
export function ensureRootfs(extraPackages: string[] = []): string {
  const packages = [...new Set([...VPS_PACKAGES, ...extraPackages])].sort();
  const recipe = createHash("sha256").update(readFileSync(ROOTFS_SCRIPT)).update(packages.join(",")).digest("hex").slice(0, 16);
  const dir = join(CACHE_ROOT, "rootfs", recipe);
  if (!existsSync(join(dir, "root.complete"))) {
    const r = spawnSync("bash", [ROOTFS_SCRIPT, dir, ...packages], { stdio: ["ignore", "inherit", "inherit"] });
    if (r.status !== 0) throw new Error(`building the VPS rootfs failed (${ROOTFS_SCRIPT} exit ${r.status})`);
  }
  return join(dir, "root");
}

// ---------------------------------------------------------------- cgroups

/** The runner's own cgroup in every hierarchy: [mount dir, path]. Each VPS gets a child in each. */
function ownCgroups(): [string, string][] {
  return readFileSync("/proc/self/cgroup", "utf8").trim().split("\n").map((line) => {
    const [, controllers = "", path = "/"] = line.split(":");
    const mount = controllers === "" ? "unified" : controllers.replace(/^name=/, "");
    return [join("/sys/fs/cgroup", mount), path] as [string, string];
  }).filter(([mount]) => existsSync(join(mount, "cgroup.procs")));
}

function cgroupDirs(name: string): string[] {
  return ownCgroups().map(([mount, path]) => join(mount, path, name));
}

/** Every process in a cgroup tree. */
function cgroupPids(dir: string): number[] {
  if (!existsSync(dir)) return [];
  const own = readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
  const children = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => cgroupPids(join(dir, e.name)));
  return [...own, ...children];
}

/** cgroup directories go with rmdir(2), children first; a dying process can hold one for a moment. */
function removeCgroupTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroupTree(join(dir, e.name));
  for (let i = 0; i < 50; i++) {
    if (sh("rmdir", [dir], { allowFail: true }).status === 0) return;
    sleepMs(100);
  }
  throw new Error(`cannot remove cgroup ${dir}: processes remain (${cgroupPids(dir).join(" ")})`);
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Kills every process of a VPS (freezing first so nothing forks in between) and removes its cgroups. */
function killCgroups(name: string): void {
  const dirs = cgroupDirs(name);
  const freezer = dirs.find((d) => d.startsWith("/sys/fs/cgroup/freezer/"));
  if (freezer && existsSync(freezer)) writeFileSync(join(freezer, "freezer.state"), "FROZEN");
  for (let round = 0; round < 100; round++) {
    const pids = [...new Set(dirs.flatMap(cgroupPids))];
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    if (freezer && existsSync(freezer)) writeFileSync(join(freezer, "freezer.state"), "THAWED");
    sleepMs(50);
  }
  for (const dir of dirs) removeCgroupTree(dir);
}

// ---------------------------------------------------------------- clusters

interface ClusterPlan {
  prefix: string;
  index: number;
  scratch: string;
  switchNs: string;
  runnerLink: string;
  /** The runner's end of the tailnet segment (`tailnet` clusters only). */
  tailnetLink?: string;
  hostNames: string[];
}

const netnsOf = (plan: ClusterPlan, host: string) => `${plan.prefix}-${plan.index}-${host}`;

/** Unmounts everything at or below `dir`, deepest first (lazily when busy). */
export function unmountAllUnder(dir: string): void {
  const mounts = readFileSync("/proc/self/mounts", "utf8").split("\n").map((l) => l.split(" ")[1] ?? "")
    .filter((m) => m === dir || m.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length);
  for (const m of mounts) sh("umount", [m], { allowFail: true }).status === 0 || sh("umount", ["-l", m], { allowFail: true });
}

/** Removes a cluster completely; safe to call on a half-built or already removed cluster. */
function destroyCluster(plan: ClusterPlan): void {
  // Multiplexing masters live on the runner: end them before their hosts vanish under them.
  if (existsSync(plan.scratch)) {
    for (const socket of readdirSync(plan.scratch).filter((f) => f.startsWith("cm-"))) {
      sh("ssh", ["-o", `ControlPath=${join(plan.scratch, socket)}`, "-O", "exit", "x"], { allowFail: true });
    }
  }
  for (const host of plan.hostNames) killCgroups(netnsOf(plan, host));
  unmountAllUnder(plan.scratch);
  for (const host of plan.hostNames) sh("ip", ["netns", "del", netnsOf(plan, host)], { allowFail: true });
  sh("ip", ["link", "del", plan.runnerLink], { allowFail: true });
  if (plan.tailnetLink) sh("ip", ["link", "del", plan.tailnetLink], { allowFail: true });
  sh("ip", ["netns", "del", plan.switchNs], { allowFail: true });
  discard(plan.scratch);
}

/**
 * Deletes a directory in the background: the hosts' Docker data runs to GBs and
 * unlinking it on a discard-mounted disk takes minutes. The directory is moved
 * out of the way first, so the cluster index is free at once; a later boot
 * finishes any deletion a dead process left.
 */
function discard(dir: string): void {
  if (!existsSync(dir)) return;
  const trash = join(SCRATCH_ROOT, "trash");
  mkdirSync(trash, { recursive: true });
  const target = join(trash, `${Date.now()}-${process.pid}-${Math.random().toString(36).slice(2)}`);
  renameSync(dir, target);
  spawn("rm", ["-rf", "--one-file-system", target], { detached: true, stdio: "ignore" }).unref();
}

function emptyTrash(): void {
  const trash = join(SCRATCH_ROOT, "trash");
  if (!existsSync(trash)) return;
  const busy = sh("pgrep", ["-f", `rm -rf --one-file-system ${trash}/`], { allowFail: true }).stdout;
  for (const entry of readdirSync(trash)) if (!busy.includes(entry)) discard(join(trash, entry));
}

function planFile(scratch: string): string {
  return join(scratch, "plan.json");
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Removes clusters of this prefix whose owning process is gone (a killed test run). */
function reapStale(prefix: string): void {
  emptyTrash();
  const root = join(SCRATCH_ROOT, prefix);
  if (!existsSync(root)) return;
  for (const entry of readdirSync(root)) {
    const file = planFile(join(root, entry));
    if (!existsSync(file)) continue;
    const { plan, owner } = JSON.parse(readFileSync(file, "utf8")) as { plan: ClusterPlan; owner: number };
    if (!alive(owner)) destroyCluster(plan);
  }
}

function parseRange(range: string): [number, number] {
  const m = /^(\d+)\.(\d+)\.0\.0\/16$/.exec(range);
  if (!m) throw new Error(`range must be an A.B.0.0/16, got ${range}`);
  return [Number(m[1]), Number(m[2])];
}

/** Claims a free cluster index: creating the switch namespace is the atomic claim. */
function claimIndex(prefix: string): number {
  for (let index = 0; index < 250; index++) {
    if (sh("ip", ["netns", "add", `${prefix}-${index}-sw`], { allowFail: true }).status === 0) return index;
  }
  throw new Error(`no free ${prefix} cluster index (250 in use?)`);
}

function generateKey(path: string, comment: string): string {
  sh("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path]);
  return readFileSync(`${path}.pub`, "utf8").trim().split(" ").slice(0, 2).join(" ");
}

function writeInto(root: string, path: string, content: string, mode: number): void {
  const full = join(root, path);
  mkdirSync(join(full, ".."), { recursive: true });
  writeFileSync(full, content, { mode });
}

function runSsh(args: string[], options: SshOptions): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => stdout.push(d));
    child.stderr.on("data", (d: Buffer) => stderr.push(d));
    const timer = setTimeout(() => child.kill("SIGKILL"), (options.timeoutSeconds ?? 300) * 1000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? 255, stdout: Buffer.concat(stdout).toString("utf8"), stderr: Buffer.concat(stderr).toString("utf8") });
    });
    child.stdin.on("error", () => undefined);
    if (options.inputFile) createReadStream(options.inputFile).pipe(child.stdin);
    else child.stdin.end(options.input ?? "");
  });
}

const liveClusters = new Set<() => number>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  const cleanAll = () => {
    for (const teardown of [...liveClusters]) teardown();
  };
  process.on("exit", cleanAll);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      cleanAll();
      process.exit(130);
    });
  }
}

export async function bootVps(options: VpsOptions): Promise<VpsCluster> {
  const prefix = options.prefix ?? "ocrt";
  if (!/^[a-z]{2,6}$/.test(prefix)) throw new Error(`prefix must be 2-6 lowercase letters, got ${prefix}`);
  const [a, b] = parseRange(options.range ?? "10.210.0.0/16");
  for (const name of options.hosts) if (!/^[a-z][a-z0-9]{0,11}$/.test(name)) throw new Error(`host name ${name}: 1-12 lowercase letters/digits`);
  const started = Date.now();
  const lower = ensureRootfs(options.extraPackages);
  reapStale(prefix);

  const index = claimIndex(prefix);
  if (options.tailnet && index >= 128) throw new Error(`${prefix}: a tailnet cluster needs an index below 128 (got ${index})`);
  const scratch = join(SCRATCH_ROOT, prefix, String(index));
  const plan: ClusterPlan = {
    prefix, index, scratch, switchNs: `${prefix}-${index}-sw`, runnerLink: `${prefix}${index}h`, hostNames: options.hosts,
    ...(options.tailnet ? { tailnetLink: `${prefix}${index}t` } : {}),
  };
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true, mode: 0o700 });
  writeFileSync(planFile(scratch), JSON.stringify({ plan, owner: process.pid }));
  let torn = false;
  const teardown = (): number => {
    const t0 = Date.now();
    if (!torn) {
      torn = true;
      liveClusters.delete(teardown);
      destroyCluster(plan);
    }
    return (Date.now() - t0) / 1000;
  };
  liveClusters.add(teardown);
  installExitHook();

  try {
    const subnet = `${a}.${b}.${index}.0/24`;
    const runnerAddress = `${a}.${b}.${index}.1`;
    const sw = (...args: string[]) => ip("-n", plan.switchNs, ...args);
    sw("link", "set", "lo", "up");
    /** A segment: a bridge in the switch namespace, and the runner's veth into it at `address`. */
    const segment = (bridge: string, runnerLink: string, uplink: string, address: string) => {
      sw("link", "add", bridge, "type", "bridge");
      sw("link", "set", bridge, "up");
      ip("link", "add", runnerLink, "type", "veth", "peer", "name", uplink, "netns", plan.switchNs);
      sw("link", "set", uplink, "master", bridge, "up");
      ip("addr", "add", `${address}/24`, "dev", runnerLink);
      ip("link", "set", runnerLink, "up");
    };
    segment("br0", plan.runnerLink, "uplink", runnerAddress);
    const tailnetRunnerAddress = options.tailnet ? `${a}.${b}.${128 + index}.1` : undefined;
    if (plan.tailnetLink && tailnetRunnerAddress) segment("br1", plan.tailnetLink, "tailnet", tailnetRunnerAddress);

    const clientKey = join(scratch, "id_ed25519");
    const clientPublic = generateKey(clientKey, `${prefix}-${index}-runner`);
    const knownHostsPath = join(scratch, "known_hosts");
    const sshConfigPath = join(scratch, "ssh_config");
    const sudoUsers = options.sudoUsers ?? [];

    const hosts = options.hosts.map((name, i): VpsHost & { start(): void } => {
      const ns = netnsOf(plan, name);
      const address = `${a}.${b}.${index}.${10 + i}`;
      const dir = join(scratch, name);
      const [upper, work, merged, dockerDir] = ["upper", "work", "root", "docker"].map((d) => join(dir, d)) as [string, string, string, string];
      for (const d of [upper, work, merged, dockerDir]) mkdirSync(d, { recursive: true });
      sh("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged]);

      ip("netns", "add", ns);
      // A fixed MAC per (cluster, host): a re-created host answers for the same address at once.
      const mac = `02:0c:${index.toString(16).padStart(2, "0")}:00:00:${(10 + i).toString(16).padStart(2, "0")}`;
      sw("link", "add", `h${i}`, "type", "veth", "peer", "name", "eth0", "netns", ns);
      sw("link", "set", `h${i}`, "master", "br0", "up");
      ip("-n", ns, "link", "set", "lo", "up");
      ip("-n", ns, "link", "set", "eth0", "address", mac);
      ip("-n", ns, "addr", "add", `${address}/24`, "dev", "eth0");
      ip("-n", ns, "link", "set", "eth0", "up");
      sh("ip", ["neigh", "flush", "dev", plan.runnerLink], { allowFail: true });
      const tailnetAddress = options.tailnet ? `${a}.${b}.${128 + index}.${10 + i}` : undefined;
      if (tailnetAddress && plan.tailnetLink) {
        sw("link", "add", `t${i}`, "type", "veth", "peer", "name", "tailscale0", "netns", ns);
        sw("link", "set", `t${i}`, "master", "br1", "up");
        ip("-n", ns, "addr", "add", `${tailnetAddress}/24`, "dev", "tailscale0");
        ip("-n", ns, "link", "set", "tailscale0", "up");
        sh("ip", ["neigh", "flush", "dev", plan.tailnetLink], { allowFail: true });
      }
      const sshAddress = tailnetAddress ?? address;

      const hostKeyFile = join(dir, "ssh_host_ed25519_key");
      const hostKey = generateKey(hostKeyFile, name);
      writeInto(merged, "etc/ssh/ssh_host_ed25519_key", readFileSync(hostKeyFile, "utf8"), 0o600);
      writeInto(merged, "etc/ssh/ssh_host_ed25519_key.pub", readFileSync(`${hostKeyFile}.pub`, "utf8"), 0o644);
      writeInto(merged, "etc/hostname", `${name}\n`, 0o644);
      writeInto(merged, "etc/hosts", `127.0.0.1 localhost\n${address} ${name}\n`, 0o644);
      writeInto(merged, "root/.ssh/authorized_keys", `${clientPublic}\n`, 0o600);
      for (const user of sudoUsers) {
        sh("chroot", [merged, "useradd", "--create-home", "--shell", "/bin/bash", user]);
        writeInto(merged, `home/${user}/.ssh/authorized_keys`, `${clientPublic}\n`, 0o600);
        sh("chroot", [merged, "chown", "-R", `${user}:${user}`, `/home/${user}/.ssh`]);
        writeInto(merged, `etc/sudoers.d/90-${user}`, `${user} ALL=(ALL) NOPASSWD:ALL\n`, 0o440);
      }
      const knownHosts = `${sshAddress} ${hostKey}`;
      // One multiplexed connection per user (ControlMaster): a suite's hundreds of commands do not each
      // open a TCP connection (a rate-limited SSH port would refuse them); `fresh` opts out, for checks
      // that must see a new login (pinned host key, refused users).
      const sshArgs = (user = "root", fresh = false) => [
        "-i", clientKey, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
        "-o", `UserKnownHostsFile=${knownHostsPath}`, "-o", "StrictHostKeyChecking=yes", "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR",
        ...(fresh ? ["-o", "ControlMaster=no", "-o", "ControlPath=none"] : ["-o", "ControlMaster=auto", "-o", `ControlPath=${join(scratch, "cm-%C")}`, "-o", "ControlPersist=20"]),
        "-p", "22", `${user}@${sshAddress}`,
      ];
      const ssh = (command: string, o: SshOptions = {}) => runSsh([...sshArgs(o.user, o.fresh), "--", command], o);
      const start = () => {
        // The container runs in a child of the runner's cgroup in every hierarchy, so teardown finds every process it made.
        const procs = cgroupDirs(ns).map((d) => {
          mkdirSync(d, { recursive: true });
          return join(d, "cgroup.procs");
        });
        const console = join(dir, "console.log");
        const nspawn = ["systemd-nspawn", "--register=no", "--keep-unit", "-M", name, "-D", merged,
          `--network-namespace-path=/run/netns/${ns}`, "--resolv-conf=off", "--capability=all", "--system-call-filter=@keyring",
          `--bind=${dockerDir}:/var/lib/docker`, "--console=read-only", "-b"];
        const child = spawn("sh", ["-c", 'for f in $CGROUP_PROCS; do echo $$ > "$f"; done; exec "$@" >>"$CONSOLE_LOG" 2>&1', "sh", ...nspawn], {
          env: { ...process.env, CGROUP_PROCS: procs.join(" "), CONSOLE_LOG: console },
          stdio: "ignore",
          detached: true,
        });
        child.unref();
      };
      return {
        name, address, ...(tailnetAddress ? { tailnetAddress } : {}), sshPort: 22, hostKey, knownHosts, netns: ns, rootDir: merged, sshArgs, ssh, start,
        async sshOk(command: string, o: SshOptions = {}) {
          const r = await ssh(command, o);
          if (r.status !== 0) throw new Error(`${name}: ${command.slice(0, 200)} failed (${r.status}): ${r.stderr.trim()}`);
          return r.stdout;
        },
        dockerEnv(user = "root") {
          return { ...process.env, PATH: `${join(scratch, "bin")}:${process.env["PATH"] ?? ""}`, DOCKER_HOST: `ssh://${user}@${sshAddress}` };
        },
      };
    });

    writeFileSync(knownHostsPath, hosts.map((h) => h.knownHosts).join("\n") + "\n");
    writeFileSync(sshConfigPath, [
      `Host ${hosts.map((h) => h.tailnetAddress ?? h.address).join(" ")} ${hosts.map((h) => h.name).join(" ")}`,
      `  IdentityFile ${clientKey}`, "  IdentitiesOnly yes", "  BatchMode yes",
      `  UserKnownHostsFile ${knownHostsPath}`, "  GlobalKnownHostsFile /dev/null", "  StrictHostKeyChecking yes", "  LogLevel ERROR",
      ...hosts.flatMap((h) => [`Host ${h.name}`, `  HostName ${h.tailnetAddress ?? h.address}`]), "",
    ].join("\n"));
    // The docker CLI runs plain `ssh`: a wrapper first on PATH gives it this cluster's config.
    writeInto(scratch, "bin/ssh", `#!/bin/sh\nexec /usr/bin/ssh -F ${sshConfigPath} "$@"\n`, 0o755);

    for (const h of hosts) h.start();
    const deadline = Date.now() + (options.bootTimeoutSeconds ?? 90) * 1000;
    await Promise.all(hosts.map(async (h) => {
      for (;;) {
        const r = await h.ssh("until docker info >/dev/null 2>&1; do sleep 0.2; done", { timeoutSeconds: Math.max(5, (deadline - Date.now()) / 1000) });
        if (r.status === 0) return;
        if (Date.now() > deadline) {
          const log = join(scratch, h.name, "console.log");
          throw new Error(`${h.name} did not come up (ssh: ${r.stderr.trim()}); console:\n${existsSync(log) ? readFileSync(log, "utf8").slice(-3000) : "(none)"}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }));
    return {
      hosts,
      host(name: string) {
        const h = hosts.find((x) => x.name === name);
        if (!h) throw new Error(`no host ${name}`);
        return h;
      },
      runnerAddress,
      ...(tailnetRunnerAddress ? { tailnetRunnerAddress } : {}),
      subnet,
      privateKeyPath: clientKey,
      knownHostsPath,
      sshConfigPath,
      bootSeconds: (Date.now() - started) / 1000,
      teardown,
    };
  } catch (err) {
    teardown();
    throw err;
  }
}

/**
 * The highest RLIMIT_NOFILE hard limit a process in a test VPS can get on this machine, or undefined when
 * there is none beyond the kernel's (the VPS's systemd raises its services' limits as on a real host).
 * Raising a hard limit needs CAP_SYS_RESOURCE; a VPS inherits the runner's bounding set, so without that
 * capability the runner's own hard limit is the ceiling for every process in it, nspawn --rlimit and
 * prlimit included (seen on a sandboxed machine: hard 20000, CAP_SYS_RESOURCE in no bounding set, PID 1's
 * either).
 */
export function vpsNofileCeiling(): number | undefined {
  const status = readFileSync("/proc/self/status", "utf8");
  const bounding = BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(status)?.[1] ?? "0"}`);
  const CAP_SYS_RESOURCE = 24n;
  if ((bounding >> CAP_SYS_RESOURCE) & 1n) return undefined;
  const hard = /^Max open files\s+\S+\s+(\S+)/m.exec(readFileSync("/proc/self/limits", "utf8"))?.[1];
  return hard === undefined || hard === "unlimited" ? undefined : Number(hard);
}

// `tsx tests/support/vps.ts prepare`: builds the cached rootfs (scripts/install-validators.sh runs it).
if (require.main === module) {
  if (process.argv[2] !== "prepare") {
    console.error("usage: tsx tests/support/vps.ts prepare");
    process.exit(2);
  }
  const t0 = Date.now();
  console.log(`vps: rootfs ready in ${ensureRootfs()} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
