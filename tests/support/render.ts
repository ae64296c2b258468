/**
 * Runs the offline render CLI exactly as a user does (`npm run render`) and
 * reads back its contract files.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { SECRET_KEYS, Topology } from "../../infra/config/schema";
import { loadStackFile, renderStack } from "../../render/cli";
import { Render, RenderOptions } from "../../render/offlineRender";
import { PROJECT_ROOT } from "./tools";

export interface RenderedResourceJson {
  type: string;
  name: string;
  parent: string | null;
  custom: boolean;
  inputs: Record<string, any>;
  dependsOn: string[];
  provider: string | null;
}

export interface FileEntry { target: string; path: string; mode: string; owner: string; file: string }

export interface RenderRun {
  status: number;
  stdout: string;
  stderr: string;
  dir: string;
  seconds: number;
  /** CPU time (user + system) of the render's process tree: unlike wall time, barely moved by other load. */
  cpuSeconds: number;
  resources: RenderedResourceJson[];
  files: FileEntry[];
  outputs: Record<string, unknown>;
  /** Content of the first rendered file whose path ends with `suffix`. */
  fileContent(suffix: string): string;
  filesEnding(suffix: string): FileEntry[];
}

export function runRender(args: string[], outDir?: string): RenderRun {
  const dir = outDir ?? join(mkdtempSync(join(tmpdir(), "render-")), "out");
  const started = Date.now();
  const tsx = join(PROJECT_ROOT, "node_modules/.bin/tsx");
  // bash's `time` writes the render's CPU time (user, system) to TIMEFILE; the render keeps its own stdout and stderr.
  const timeFile = join(mkdtempSync(join(tmpdir(), "render-time-")), "cpu");
  const timed = 'TIMEFORMAT="%3U %3S"; { time "$@" 2>&4; } 4>&2 2>"$TIMEFILE"';
  const result = spawnSync("bash", ["-c", timed, "render", tsx, join(PROJECT_ROOT, "render/cli.ts"), ...args, "--out", dir],
    { cwd: PROJECT_ROOT, encoding: "utf8", env: { ...process.env, TIMEFILE: timeFile } });
  const seconds = (Date.now() - started) / 1000;
  const cpuSeconds = readFileSync(timeFile, "utf8").trim().split(/\s+/).map(Number).reduce((a, b) => a + b, 0);
  const read = <T>(name: string, fallback: T): T => (existsSync(join(dir, name)) ? JSON.parse(readFileSync(join(dir, name), "utf8")) as T : fallback);
  const files = read<FileEntry[]>("files.json", []);
  const filesEnding = (suffix: string) => files.filter((f) => f.path.endsWith(suffix));
  return {
    status: result.status ?? 1,
    stdout: result.stdout,
    stderr: result.stderr,
    dir,
    seconds,
    cpuSeconds,
    resources: read("resources.json", []),
    files,
    outputs: read("outputs.json", {}),
    filesEnding,
    fileContent(suffix: string) {
      const entry = filesEnding(suffix)[0];
      if (!entry) throw new Error(`no rendered file ends with ${suffix}`);
      return readFileSync(join(dir, entry.file), "utf8");
    },
  };
}

/** Writes a Pulumi.<stack>.yaml-format file holding `config` and returns its path. */
export function writeStackFile(config: Record<string, unknown>): string {
  const file = join(mkdtempSync(join(tmpdir(), "stack-")), "Pulumi.test.yaml");
  writeFileSync(file, toYaml({ config }));
  return file;
}

/** The committed single-vps config, with overrides, keys without the namespace. */
export function singleVpsConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base = (parseYaml(readFileSync(join(PROJECT_ROOT, "Pulumi.single-vps.yaml"), "utf8")) as { config: Record<string, unknown> }).config;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete merged[`openclaw:${key}`];
    else merged[`openclaw:${key}`] = value;
  }
  return merged;
}

/** Keys the program reads as secrets: fed as secrets, as `pulumi config set --secret` would. */
export const SECRET_CONFIG_KEYS = new Set(SECRET_KEYS.map((k) => `openclaw:${k}`));

/** Engine-style config (`openclaw:key` → string, objects as JSON) from values keyed without the namespace. */
export function engineConfig(values: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)
    .map(([k, v]) => [`openclaw:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
}

/** The real program under the render's mocks, in this process (no CLI), on values keyed without the namespace. */
export function renderValues(values: Record<string, unknown>, options: RenderOptions & { secretKeys?: ReadonlySet<string> } = {}): Promise<Render> {
  const config = engineConfig(values);
  const secretKeys = [...(options.secretKeys ?? SECRET_CONFIG_KEYS)].filter((k) => k in config);
  return renderStack({ stack: "test", project: "openclaw-infra", config, secretKeys }, options);
}

/**
 * The values of the committed stack file of a topology, keyed without the
 * namespace (`secure:` values read as the render CLI reads them).
 */
export function loadCommitted(topology: Topology): Record<string, unknown> {
  const files = readdirSync(PROJECT_ROOT).filter((f) => /^Pulumi\..+\.yaml$/.test(f)).sort();
  for (const file of files) {
    const { config } = loadStackFile(join(PROJECT_ROOT, file), "test");
    if (config["openclaw:topology"] !== topology) continue;
    return Object.fromEntries(Object.entries(config).map(([k, v]) => [k.replace(/^openclaw:/, ""), /^[[{]/.test(v) ? JSON.parse(v) as unknown : v]));
  }
  throw new Error(`no committed stack file has openclaw:topology ${topology}`);
}

export const committedSingleVps = () => loadCommitted("single-vps");

/** Test-VPS facts as single-vps stack config: the stack deploys to that host over SSH as `deploy`, admin = the runner. */
export function vpsStackConfig(host: { name: string; address: string; hostKey: string }, runnerAddress: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return singleVpsConfig({
    host: { name: host.name, address: host.address, sshUser: "deploy", sshPort: 22, hostKey: host.hostKey, memoryMb: 16384 },
    admin: { addresses: [`${runnerAddress}/32`] },
    ...overrides,
  });
}
