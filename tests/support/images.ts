/**
 * Stand-ins for every image the stacks run, built without any registry from
 * the same software at the pinned versions (Debian packages, npm, PyPI; the
 * OpenTelemetry collector from the Go module proxy: scripts/build-otelcol.sh), with
 * the recipes in tests/images/. Each image is saved as a tarball under the
 * cache root, named by a hash of everything that goes into it, and loaded into
 * a test VPS over SSH. A stack uses them through `openclaw:images.*`, exactly
 * as a user with a private registry would (testImagesConfig()).
 *
 *   tsx tests/support/images.ts build   # scripts/install-validators.sh runs this
 *
 * Builds run in a private dockerd (own roots and socket, no bridge, no
 * iptables); RUN steps that download use the machine's network (--network host).
 * cloudflared has no stand-in: it is published only as a binary download, which
 * this machine cannot reach; the tunnel ingress stays proven by render checks.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SANDBOX_IMAGE } from "../../components/socketProxy";
import { parseImageRef } from "../../infra/images";
import { DEFAULT_IMAGES, NODE24_VERSION, OPENCLAW_VERSION } from "../../infra/versions";
import { CACHE_ROOT, debianMirror, OTELCOL_BINARY, PROJECT_ROOT, TOOLS_DIR } from "./tools";
import { unmountAllUnder, VpsHost } from "./vps";

/** A registry name no one can resolve: the tags say "private registry", the images only ever arrive by `docker load`. */
export const TEST_REGISTRY = "registry.openclaw.test";
export const IMAGES_DIR = join(CACHE_ROOT, "images");
const RECIPES_DIR = join(PROJECT_ROOT, "tests/images");
const NODE_ARCH = process.arch === "arm64" ? "arm64" : "x64";

/** Versions of the stand-ins, read from the stack's own pins where the stack pins them. */
const versionOf = (ref: string) => /\d+\.\d+\.\d+/.exec(parseImageRef(ref).tag ?? "")?.[0] ?? "";
export const STANDIN_VERSIONS = {
  openclaw: OPENCLAW_VERSION,
  node24: NODE24_VERSION,
  // The socket proxy runs on the Node release its image tag names.
  socketProxyNode: versionOf(DEFAULT_IMAGES.socketProxy),
  litellm: versionOf(DEFAULT_IMAGES.litellm),
  // Debian 12's own packages (the published images are newer: squid 6.x, caddy 2.10).
  squid: "5.7",
  caddy: "2.6.2",
  // The gateway's Docker CLI: Debian 12's docker.io (the published image's is docker-ce-cli, when built with it).
  dockerCli: "20.10.24",
} as const;

type ImageKey = "base" | "node24" | "gateway" | "socketProxy" | "egressProxy" | "caddy" | "litellm" | "sandbox" | "otelCollector";

interface Recipe {
  tag: string;
  /** Folder under tests/images holding the Dockerfile and its files; none for the debootstrapped base. */
  recipe?: string;
  parent?: ImageKey;
  args: Record<string, string>;
  /** npm packages copied into the build context: [context folder, spec]. */
  npm?: [string, string][];
  /** RUN steps download (apt, pip): build with the machine's network. */
  network?: boolean;
  /** Files from outside the clone copied into the build context: [context name, path]; their content is in the hash. */
  files?: [string, string][];
}

/** How the base image is made (debootstrap → docker import); its hash covers exactly this. */
const BASE_BUILD = {
  suite: "bookworm",
  mirror: debianMirror(),
  variant: "minbase",
  packages: ["ca-certificates"],
  importChanges: ['CMD ["/bin/bash"]'],
};

export const RECIPES: Record<ImageKey, Recipe> = {
  base: { tag: `${TEST_REGISTRY}/debian:12-minbase`, args: { build: JSON.stringify(BASE_BUILD) } },
  node24: { tag: `${TEST_REGISTRY}/node:${STANDIN_VERSIONS.node24}`, recipe: "node", parent: "base", args: {}, npm: [["node", `node-linux-${NODE_ARCH}@${STANDIN_VERSIONS.node24}`]] },
  gateway: { tag: `${TEST_REGISTRY}/openclaw:${STANDIN_VERSIONS.openclaw}`, recipe: "gateway", parent: "node24", args: { DOCKER_CLI_VERSION: STANDIN_VERSIONS.dockerCli }, npm: [["app", `openclaw@${STANDIN_VERSIONS.openclaw}`]], network: true },
  socketProxy: { tag: `${TEST_REGISTRY}/node:${STANDIN_VERSIONS.socketProxyNode}`, recipe: "node", parent: "base", args: {}, npm: [["node", `node-linux-${NODE_ARCH}@${STANDIN_VERSIONS.socketProxyNode}`]] },
  egressProxy: { tag: `${TEST_REGISTRY}/squid:${STANDIN_VERSIONS.squid}-debian12`, recipe: "squid", parent: "base", args: { SQUID_VERSION: STANDIN_VERSIONS.squid }, network: true },
  caddy: { tag: `${TEST_REGISTRY}/caddy:${STANDIN_VERSIONS.caddy}-debian12`, recipe: "caddy", parent: "base", args: { CADDY_VERSION: STANDIN_VERSIONS.caddy }, network: true },
  litellm: { tag: `${TEST_REGISTRY}/litellm:v${STANDIN_VERSIONS.litellm}`, recipe: "litellm", parent: "base", args: { LITELLM_VERSION: STANDIN_VERSIONS.litellm }, network: true },
  // Not a stack role: OpenClaw's default sandbox image, under the local name OpenClaw (and the socket proxy's policy) expect.
  sandbox: { tag: SANDBOX_IMAGE, recipe: "sandbox", parent: "base", args: {}, network: true },
  // Tagged as the pinned published image itself: built here from scripts/build-otelcol.sh's binary (no parent, FROM scratch).
  otelCollector: {
    tag: DEFAULT_IMAGES.otelCollector, recipe: "otelcol", args: {},
    files: [["otelcol-contrib", OTELCOL_BINARY], ["ca-certificates.crt", "/etc/ssl/certs/ca-certificates.crt"]],
  },
};

/** The stack roles these images stand in for (`openclaw:images.<role>`). */
export const STACK_IMAGE_KEYS = ["gateway", "socketProxy", "egressProxy", "caddy", "litellm"] as const;
export type StackImageKey = (typeof STACK_IMAGE_KEYS)[number];

/** `openclaw:images` for a test stack: every role pointed at its stand-in. */
export function testImagesConfig(): Record<StackImageKey, string> {
  return Object.fromEntries(STACK_IMAGE_KEYS.map((k) => [k, RECIPES[k].tag])) as Record<StackImageKey, string>;
}

function filesIn(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesIn(join(dir, e.name)) : [join(dir, e.name)])).sort();
}

/** Content hash of an image: its recipe files, arguments, npm specs and its parent's hash. */
export function imageHash(key: ImageKey): string {
  const r = RECIPES[key];
  const h = createHash("sha256").update(JSON.stringify({ key, tag: r.tag, args: r.args, npm: r.npm ?? [], parent: r.parent ? imageHash(r.parent) : null }));
  if (r.recipe) for (const f of filesIn(join(RECIPES_DIR, r.recipe))) h.update(f.slice(RECIPES_DIR.length)).update(readFileSync(f));
  for (const [name, path] of r.files ?? []) h.update(name).update(readFileSync(path));
  return h.digest("hex").slice(0, 16);
}

export function imageTar(key: ImageKey): string {
  return join(IMAGES_DIR, `${key}-${imageHash(key)}.tar`);
}

function closure(keys: ImageKey[]): ImageKey[] {
  const out: ImageKey[] = [];
  const visit = (k: ImageKey) => {
    const parent = RECIPES[k].parent;
    if (parent) visit(parent);
    if (!out.includes(k)) out.push(k);
  };
  keys.forEach(visit);
  return out;
}

/** Makes sure every requested image's tarball exists (building under a lock when one is missing); returns the tarballs. */
export function ensureImages(keys: ImageKey[] = [...STACK_IMAGE_KEYS]): Record<string, string> {
  if (keys.some((k) => !existsSync(imageTar(k)))) {
    mkdirSync(IMAGES_DIR, { recursive: true });
    const r = spawnSync("flock", [join(IMAGES_DIR, ".lock"), join(PROJECT_ROOT, "node_modules/.bin/tsx"), __filename, "build", ...keys], { stdio: ["ignore", "inherit", "inherit"] });
    if (r.status !== 0) throw new Error(`building test images failed (exit ${r.status})`);
  }
  return Object.fromEntries(keys.map((k) => [k, imageTar(k)]));
}

/** Loads images into a VPS's Docker over SSH; returns seconds per image. */
export async function loadImages(host: VpsHost, keys: ImageKey[] = [...STACK_IMAGE_KEYS]): Promise<Record<string, number>> {
  const tars = ensureImages(keys);
  const seconds: Record<string, number> = {};
  for (const key of keys) {
    const t0 = Date.now();
    await host.sshOk("docker load -q", { inputFile: tars[key], timeoutSeconds: 600 });
    seconds[key] = (Date.now() - t0) / 1000;
  }
  return seconds;
}

// ---------------------------------------------------------------- building (CLI, under the lock)

function run(file: string, args: string[], env: NodeJS.ProcessEnv = process.env, cwd?: string): void {
  const r = spawnSync(file, args, { env, cwd, stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) throw new Error(`${file} ${args.join(" ")} failed (exit ${r.status})`);
}

/** An npm package installed with --ignore-scripts into the image cache (the tool cache's copy when it is the same spec). */
function npmPackage(spec: string): string {
  for (const tool of ["node24", "openclaw"]) {
    const dir = join(TOOLS_DIR, tool);
    if (existsSync(join(dir, ".installed")) && readFileSync(join(dir, ".installed"), "utf8").trim() === spec) return dir;
  }
  const dir = join(IMAGES_DIR, "npm", spec.replace(/[/@]/g, "_"));
  if (!existsSync(join(dir, ".installed"))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "package.json"), "{}\n");
    run("npm", ["install", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error", spec], process.env, dir);
    writeFileSync(join(dir, ".installed"), `${spec}\n`);
  }
  return dir;
}

interface BuildDaemon {
  env: NodeJS.ProcessEnv;
  stop(): void;
}

async function startBuildDaemon(): Promise<BuildDaemon> {
  mkdirSync(IMAGES_DIR, { recursive: true });
  const runDir = mkdtempSync("/run/ocrt-imgbuild-");
  const dataRoot = join(IMAGES_DIR, "build-daemon");
  rmSync(dataRoot, { recursive: true, force: true });
  const socket = join(runDir, "docker.sock");
  const log = createWriteStream(join(IMAGES_DIR, "build-daemon.log"));
  const daemon = spawn("dockerd", [
    "--data-root", dataRoot, "--exec-root", join(runDir, "exec"), "--pidfile", join(runDir, "docker.pid"), "-H", `unix://${socket}`,
    "--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false", "--storage-driver=overlay2",
  ], { stdio: ["ignore", "pipe", "pipe"] });
  daemon.stdout.pipe(log);
  daemon.stderr.pipe(log);
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_BUILDKIT: "0" };
  for (let i = 0; i < 300; i++) {
    if (spawnSync("docker", ["version"], { env, stdio: "ignore" }).status === 0) break;
    if (daemon.exitCode !== null) throw new Error(`build dockerd exited (${daemon.exitCode}); see ${join(IMAGES_DIR, "build-daemon.log")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    env,
    stop() {
      daemon.kill("SIGTERM");
      spawnSync("sh", ["-c", `for i in $(seq 100); do kill -0 ${daemon.pid} 2>/dev/null || exit 0; sleep 0.1; done; kill -9 ${daemon.pid}`]);
      // dockerd leaves its default netns (nsfs) and layer mounts behind when it dies mid-build.
      unmountAllUnder(runDir);
      unmountAllUnder(dataRoot);
      rmSync(dataRoot, { recursive: true, force: true });
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}

function buildBase(env: NodeJS.ProcessEnv, tag: string): void {
  const dir = mkdtempSync(join(IMAGES_DIR, "tmp-base-"));
  try {
    const b = BASE_BUILD;
    run("debootstrap", [`--variant=${b.variant}`, `--include=${b.packages.join(",")}`, b.suite, join(dir, "root"), b.mirror]);
    const changes = b.importChanges.map((c) => `--change '${c}'`).join(" ");
    run("sh", ["-c", `tar --numeric-owner -C ${join(dir, "root")} -c . | docker import ${changes} - ${tag}`], env);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function buildFromRecipe(env: NodeJS.ProcessEnv, key: ImageKey): void {
  const r = RECIPES[key];
  const context = mkdtempSync(join(IMAGES_DIR, `tmp-context-${key}-`));
  try {
    cpSync(join(RECIPES_DIR, r.recipe!), context, { recursive: true });
    // Downloads inside the build trust what the runner trusts (machines that reach PyPI through a TLS-inspecting proxy).
    if (r.network) cpSync(process.env["PIP_CERT"] ?? process.env["SSL_CERT_FILE"] ?? "/etc/ssl/certs/ca-certificates.crt", join(context, "build-ca.crt"));
    for (const [folder, spec] of r.npm ?? []) {
      const installed = npmPackage(spec);
      if (folder === "node") {
        cpSync(join(installed, "node_modules", spec.slice(0, spec.lastIndexOf("@")), "bin/node"), join(context, "node"));
      } else {
        cpSync(installed, join(context, folder), { recursive: true, verbatimSymlinks: true });
      }
    }
    for (const [name, path] of r.files ?? []) cpSync(path, join(context, name));
    const args = Object.entries({ ...r.args, ...(r.parent ? { BASE: RECIPES[r.parent].tag } : {}) }).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]);
    run("docker", ["build", "-q", ...(r.network ? ["--network", "host"] : []), ...args, "-t", r.tag, context], env);
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

async function buildAll(keys: ImageKey[]): Promise<void> {
  const needed = closure(keys);
  const missing = needed.filter((k) => !existsSync(imageTar(k)));
  if (missing.length === 0) return;
  const daemon = await startBuildDaemon();
  try {
    for (const key of needed) {
      const tar = imageTar(key);
      const t0 = Date.now();
      if (existsSync(tar)) {
        // Only a parent of something missing gets here: load it to build on.
        if (needed.some((k) => RECIPES[k].parent === key && missing.includes(k))) run("docker", ["load", "-q", "-i", tar], daemon.env);
        continue;
      }
      if (key === "base") buildBase(daemon.env, RECIPES.base.tag);
      else buildFromRecipe(daemon.env, key);
      run("docker", ["save", "-o", `${tar}.partial`, RECIPES[key].tag], daemon.env);
      renameSync(`${tar}.partial`, tar);
      console.log(`images: built ${RECIPES[key].tag} in ${((Date.now() - t0) / 1000).toFixed(1)} s (${(statSync(tar).size / 1e6).toFixed(0)} MB) -> ${tar}`);
    }
  } finally {
    daemon.stop();
  }
}

if (require.main === module) {
  const [command, ...keys] = process.argv.slice(2);
  if (command !== "build") {
    console.error(`usage: tsx tests/support/images.ts build [${Object.keys(RECIPES).join("|")}...]`);
    process.exit(2);
  }
  const unknown = keys.filter((k) => !(k in RECIPES));
  if (unknown.length > 0) {
    console.error(`images: unknown image ${unknown.join(", ")}`);
    process.exit(2);
  }
  const t0 = Date.now();
  buildAll(keys.length > 0 ? (keys as ImageKey[]) : (Object.keys(RECIPES) as ImageKey[])).then(() => {
    console.log(`images: ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }, (err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
