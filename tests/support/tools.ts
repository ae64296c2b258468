/**
 * The external tools the suites use as oracles. A suite that needs a missing
 * tool is skipped and listed at the end of the run, except under CI=true,
 * where a missing tool is a failure: CI must never pass by skipping. The
 * failure is the run's (tests/run.ts), never a throw while tests are being
 * defined, so a missing tool cannot cancel the checks that need none.
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { DEFAULT_IMAGES, OPENCLAW_RELEASES, OPENCLAW_VERSION } from "../../infra/versions";

export const PROJECT_ROOT = resolve(__dirname, "../..");
/** Caches live outside the clone, so a fresh clone on the same machine reuses them (scripts/install-validators.sh uses the same root). */
export const CACHE_ROOT = process.env["OPENCLAW_INFRA_CACHE"] ?? "/var/cache/openclaw-infra";
export const TOOLS_DIR = join(CACHE_ROOT, "tools");
export const SKIP_LOG = join(PROJECT_ROOT, ".cache/skipped-suites.txt");

const NODE_ARCH = process.arch === "arm64" ? "arm64" : "x64";

/** The OpenClaw CLI of one release, as scripts/install-validators.sh installs every release in infra/versions.json. */
export function openclawCli(release: string): string {
  return join(TOOLS_DIR, `openclaw-${release}/node_modules/openclaw/openclaw.mjs`);
}

/** The collector release the pinned image's tag names (scripts/build-otelcol.sh reads the same tag). */
export const OTELCOL_VERSION = /:(\d+\.\d+\.\d+)$/.exec(DEFAULT_IMAGES.otelCollector)?.[1] ?? "";
/** Where scripts/build-otelcol.sh puts the collector it builds at that release (`--path` prints the same). */
export const OTELCOL_BINARY = join(TOOLS_DIR, `otelcol-${OTELCOL_VERSION}/otelcol-contrib`);

/** Tools from the project's tool cache (scripts/install-validators.sh): `openclaw` is the default release's CLI, `openclaw@<release>` each release's. */
const CACHED_TOOLS: Record<string, string> = {
  node24: join(TOOLS_DIR, `node24/node_modules/node-linux-${NODE_ARCH}/bin/node`),
  openclaw: openclawCli(OPENCLAW_VERSION),
  ...Object.fromEntries(OPENCLAW_RELEASES.map((r) => [`openclaw@${r}`, openclawCli(r)])),
  actionlint: join(TOOLS_DIR, "bin/actionlint"),
  otelcol: OTELCOL_BINARY,
};

const SYSTEM_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

export function findTool(name: string): string | undefined {
  const cached = CACHED_TOOLS[name];
  if (cached) return existsSync(cached) ? cached : undefined;
  for (const dir of [...(process.env["PATH"] ?? "").split(":"), ...SYSTEM_PATH]) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

export function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

/**
 * Returns the skip reason for a suite needing `tools` (undefined = run it).
 * Every reason is logged for tests/run.ts, which fails a CI=true run that
 * logged any; under CI=true the suite also runs (and fails on the missing tool).
 */
export function missingTools(suite: string, tools: string[], needsRoot = false): string | undefined {
  const missing = tools.filter((t) => !findTool(t));
  const problems = [...missing.map((t) => `${t} not installed`), ...(needsRoot && !isRoot() ? ["needs root"] : [])];
  if (problems.length === 0) return undefined;
  const reason = `${suite}: ${problems.join(", ")} (run scripts/install-validators.sh)`;
  mkdirSync(dirname(SKIP_LOG), { recursive: true });
  appendFileSync(SKIP_LOG, reason + "\n");
  return process.env["CI"] === "true" ? undefined : reason;
}

export function run(file: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(file, args, { input: options.input, env: options.env ?? process.env, cwd: options.cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.error) return { status: 127, stdout: "", stderr: String(result.error) };
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

/** The Debian mirror this machine's apt uses (scripts/debian-mirror.sh), for debootstrap. */
export function debianMirror(): string {
  const result = run("bash", [join(PROJECT_ROOT, "scripts/debian-mirror.sh")]);
  if (result.status !== 0) throw new Error(`scripts/debian-mirror.sh: ${result.stderr.trim()}`);
  return result.stdout.trim();
}

/** Polls `probe` every 500 ms until it returns a value, which it returns; throws naming `what` after `seconds`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, seconds: number): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() - t0 > seconds * 1000) throw new Error(`timed out after ${seconds} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
