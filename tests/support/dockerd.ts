/**
 * A private Docker Engine for one test file: its own data root, exec root,
 * pidfile and unix socket under a temp dir, no bridge and no iptables (it runs
 * in the machine's namespace next to other daemons), stopped at the end even
 * when the suite fails. Sandbox images come from `docker import` of a
 * busybox-static rootfs: no registry is reachable here.
 */
import { spawn } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findTool, run } from "./tools";

export const BUSYBOX = "/bin/busybox";

export interface Dockerd {
  dir: string;
  socket: string;
  /** Runs the docker CLI against this daemon. */
  docker(args: string[], input?: string): { status: number; stdout: string; stderr: string };
  /** A raw Engine API call straight to the daemon (the oracle for what it did). */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: string; json: () => any }>;
  /** Imports a busybox-static rootfs as `tag`. */
  importSandboxImage(tag: string): void;
  stop(): Promise<void>;
}

/** Synchronous last-resort cleanups, for a test process killed by a signal or exiting early. */
const cleanups = new Set<() => void>();
process.on("exit", () => { for (const cleanup of cleanups) cleanup(); });
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => { for (const cleanup of cleanups) cleanup(); process.exit(130); });
}

export function apiCall(socketPath: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: string; json: () => any }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    const req = http.request({ socketPath, method, path, headers: data === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(data) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({ status: res.statusCode ?? 0, body: text, json: () => JSON.parse(text) });
      });
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(data);
  });
}

export async function startDockerd(name: string): Promise<Dockerd> {
  const dockerd = findTool("dockerd");
  const dockerCli = findTool("docker");
  if (!dockerd || !dockerCli) throw new Error("dockerd and docker are needed (apt-get install docker.io)");
  // Short paths: containerd's sockets live under the exec root and unix paths are limited to 107 bytes.
  const dir = mkdtempSync(join(tmpdir(), `ocpx-${name}-`));
  const socket = join(dir, "docker.sock");
  const child = spawn(dockerd, [
    `--data-root=${join(dir, "data")}`, `--exec-root=${join(dir, "exec")}`, `--pidfile=${join(dir, "dockerd.pid")}`,
    `-H`, `unix://${socket}`, "--storage-driver=vfs", "--bridge=none", "--iptables=false", "--ip-masq=false",
    "--log-level=warn",
  ], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr!.on("data", (c: Buffer) => { log = (log + c.toString()).slice(-20000); });
  let exited = false;
  child.on("exit", () => { exited = true; });
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: join(dir, "cli") };
  // Containers first (their shims outlive the daemon otherwise), then the daemon, then the roots.
  const removeAll = () => {
    const ids = run(dockerCli, ["ps", "-aq"], { env }).stdout.split("\n").filter(Boolean);
    if (ids.length > 0) run(dockerCli, ["rm", "-f", ...ids], { env });
  };
  const unmountAndRemove = () => {
    const mounts = run("awk", ["-v", `d=${dir}`, "index($5, d) == 1 { print $5 }", "/proc/self/mountinfo"]).stdout.split("\n").filter(Boolean).reverse();
    for (const m of mounts) run("umount", ["-l", m]);
    rmSync(dir, { recursive: true, force: true });
  };
  const lastResort = () => { if (!exited) { removeAll(); child.kill("SIGKILL"); } unmountAndRemove(); };
  cleanups.add(lastResort);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) { cleanups.delete(lastResort); unmountAndRemove(); throw new Error(`dockerd exited: ${log}`); }
    if (Date.now() > deadline) { cleanups.delete(lastResort); lastResort(); throw new Error(`dockerd did not answer in 60 s: ${log}`); }
    const ok = await apiCall(socket, "GET", "/_ping").then((r) => r.status === 200, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const self: Dockerd = {
    dir,
    socket,
    docker: (args, input) => run(dockerCli, args, { env, input }),
    api: (method, path, body) => apiCall(socket, method, path, body),
    importSandboxImage(tag) {
      const root = join(dir, "rootfs");
      for (const d of ["bin", "etc", "tmp", "workspace", "proc", "sys", "dev", "run", "var/tmp"]) mkdirSync(join(root, d), { recursive: true });
      copyFileSync(BUSYBOX, join(root, "bin/busybox"));
      chmodSync(join(root, "bin/busybox"), 0o755);
      for (const applet of ["sh", "sleep", "cat", "ls", "echo", "yes", "head", "ln", "id", "true", "wc", "dd", "mkdir", "sync"]) symlinkSync("busybox", join(root, "bin", applet));
      writeFileSync(join(root, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n");
      writeFileSync(join(root, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
      const tar = join(dir, "rootfs.tar");
      const packed = run("tar", ["-C", root, "-cf", tar, "."]);
      if (packed.status !== 0) throw new Error(`tar: ${packed.stderr}`);
      const imported = self.docker(["import", "--change", 'CMD ["/bin/sh"]', tar, tag]);
      if (imported.status !== 0) throw new Error(`docker import: ${imported.stderr}`);
      rmSync(root, { recursive: true, force: true });
    },
    async stop() {
      cleanups.delete(lastResort);
      if (!exited) {
        removeAll();
        child.kill("SIGTERM");
        for (let i = 0; i < 150 && !exited; i++) await new Promise((r) => setTimeout(r, 100));
        if (!exited) child.kill("SIGKILL");
      }
      unmountAndRemove();
    },
  };
  return self;
}
