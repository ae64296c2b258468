/**
 * Reads, from a render's resources alone, every file those resources would
 * place: remote Commands running the install-file script (path, mode, owner
 * from the script, content from stdin) and Swarm services' configs and
 * secrets (content from the ServiceConfig's data). Tests compare this with
 * files.json, which infra/files.ts records in the same call.
 */
import { RenderedResourceJson } from "./render";

export interface Placement { target: string; path: string; mode: string; owner: string; content: string }

const INSTALL_SCRIPT = /^sudo -n bash -c '(set -eu\numask 077\n\[ -d \S+ \] \|\| install -d [\s\S]*)'$/;

/** Commands that run a script but must not write files (activation, apply, packages, directories). */
const WRITES_A_FILE = /\bcat >|\btee\b|\bcp\b|\bmv\b|>\s*\/(?!dev\/null)/;

export function placementsOf(resources: RenderedResourceJson[], hostName: string): { placements: Placement[]; writersOutsidePlacement: string[] } {
  const placements: Placement[] = [];
  const writersOutsidePlacement: string[] = [];
  for (const r of resources.filter((x) => x.type === "command:remote:Command")) {
    const create = String(r.inputs["create"] ?? "");
    const match = INSTALL_SCRIPT.exec(create);
    if (!match) {
      if (WRITES_A_FILE.test(create)) writersOutsidePlacement.push(r.name);
      continue;
    }
    const script = match[1]!.replace(/'\\''/g, "'");
    const field = (re: RegExp) => re.exec(script)?.[1] ?? `(no ${re.source} in ${r.name})`;
    placements.push({
      target: hostName,
      path: field(/^tmp=\$\(mktemp (\S+)\.XXXXXX\)$/m),
      mode: field(/^chmod (\S+) "\$tmp"$/m),
      owner: field(/^chown (\S+) "\$tmp"$/m),
      content: String(r.inputs["stdin"]),
    });
  }
  const configData = new Map(resources.filter((r) => r.type === "docker:index/serviceConfig:ServiceConfig")
    .map((r) => [String(r.inputs["name"]), Buffer.from(String(r.inputs["data"]), "base64").toString("utf8")]));
  for (const service of resources.filter((r) => r.type === "docker:index/service:Service")) {
    const spec = service.inputs["taskSpec"]["containerSpec"];
    type Mount = { fileName: string; fileUid: string; fileGid: string; fileMode: number; configName?: string };
    const mounts: [Mount, string][] = [
      ...((spec["configs"] ?? []) as Mount[]).map((m): [Mount, string] => [m, configData.get(String(m.configName)) ?? `(no ServiceConfig ${m.configName})`]),
      ...((spec["secrets"] ?? []) as Mount[]).map((m): [Mount, string] => [m, "[secret]"]),
    ];
    for (const [m, content] of mounts) {
      placements.push({ target: String(service.inputs["name"]), path: m.fileName, mode: `0${m.fileMode.toString(8)}`, owner: `${m.fileUid}:${m.fileGid}`, content });
    }
  }
  return { placements, writersOutsidePlacement };
}

/** The two sides as sorted JSON lines, for a readable diff. */
export function asLines(entries: Placement[]): string[] {
  return entries.map((e) => JSON.stringify([e.target, e.path, e.mode, e.owner, e.content])).sort();
}
