/**
 * `npm test` after the type check: runs every tests/**\/*.test.ts under
 * node:test and ends by listing each suite that was skipped and why.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join, relative } from "node:path";
import { PROJECT_ROOT, SKIP_LOG } from "./support/tools";

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith(".test.ts") ? [path] : [];
  }).sort();
}

rmSync(SKIP_LOG, { force: true });
const filter = process.argv.slice(2);
const files = testFiles(join(PROJECT_ROOT, "tests")).filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)));
const result = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=2", ...files.map((f) => relative(PROJECT_ROOT, f))], {
  cwd: PROJECT_ROOT,
  stdio: "inherit",
});
const ci = process.env["CI"] === "true";
let missing = 0;
if (existsSync(SKIP_LOG)) {
  const skipped = [...new Set(readFileSync(SKIP_LOG, "utf8").trim().split("\n"))];
  missing = skipped.length;
  console.log(ci ? `\nCI=true and suites lack a tool, which fails the run (${missing}):` : `\nSkipped suites (${missing}):`);
  for (const line of skipped) console.log(`  - ${line}`);
}
process.exit(ci && missing > 0 ? 1 : (result.status ?? 1));
