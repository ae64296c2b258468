/**
 * `npm run policy -- <render dir>...`: the policy pack's rules over offline
 * renders (resources.json of `npm run render`), without the engine. Prints
 * every violation and exits 1 when there is one.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { checkResources, fromRender, RenderedResourceEntry, RULES } from "./rules";

function main(dirs: string[]): number {
  if (dirs.length === 0) {
    console.error("usage: npm run policy -- <render dir>...");
    return 2;
  }
  let failed = false;
  for (const dir of dirs) {
    const entries = JSON.parse(readFileSync(join(dir, "resources.json"), "utf8")) as RenderedResourceEntry[];
    const resources = fromRender(entries);
    const violations = checkResources(resources);
    for (const v of violations) console.log(`[mandatory] ${v.policy}: ${v.message}`);
    console.log(`${dir}: ${RULES.length} policies, ${resources.length} resources, ${violations.length} violation(s)`);
    failed ||= violations.length > 0;
  }
  return failed ? 1 : 0;
}

process.exit(main(process.argv.slice(2)));
