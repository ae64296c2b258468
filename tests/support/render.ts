/**
 * Runs the offline render CLI exactly as a user does (`npm run render`) and
 * reads back its contract files.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { PROJECT_ROOT } from "./tools";

export interface RenderedResourceJson {
  type: string;
  name: string;
  parent: string | null;
  custom: boolean;
  inputs: Record<string, any>;
  dependsOn: string[];
}

export interface FileEntry { target: string; path: string; mode: string; owner: string; file: string }

export interface RenderRun {
  status: number;
  stdout: string;
  stderr: string;
  dir: string;
  seconds: number;
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
  const result = spawnSync(tsx, [join(PROJECT_ROOT, "infra/render.ts"), ...args, "--out", dir], { cwd: PROJECT_ROOT, encoding: "utf8" });
  const seconds = (Date.now() - started) / 1000;
  const read = <T>(name: string, fallback: T): T => (existsSync(join(dir, name)) ? JSON.parse(readFileSync(join(dir, name), "utf8")) as T : fallback);
  const files = read<FileEntry[]>("files.json", []);
  const filesEnding = (suffix: string) => files.filter((f) => f.path.endsWith(suffix));
  return {
    status: result.status ?? 1,
    stdout: result.stdout,
    stderr: result.stderr,
    dir,
    seconds,
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

/** Test-VPS facts as single-vps stack config: the stack deploys to that host over SSH as `deploy`, admin = the runner. */
export function vpsStackConfig(host: { name: string; address: string; hostKey: string }, runnerAddress: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return singleVpsConfig({
    host: { name: host.name, address: host.address, sshUser: "deploy", sshPort: 22, hostKey: host.hostKey, memoryMb: 16384 },
    admin: { addresses: [`${runnerAddress}/32`], sshPort: 22 },
    ...overrides,
  });
}
