/**
 * `npm run bench`: the cost of growth. Renders the single-vps stack with
 * N = 1, 10 and 50 partitioned gateways (the real program under mocks, as
 * the offline render does) and prints wall time and resource count.
 */
import { join } from "node:path";
import { loadStackFile, renderStack } from "../render/cli";
import { PROJECT_ROOT } from "./support/tools";

async function main(): Promise<void> {
  const base = loadStackFile(join(PROJECT_ROOT, "Pulumi.single-vps.yaml"), "bench");
  const rows: string[] = ["gateways  resources  wall ms  ms/resource"];
  for (const n of [1, 10, 50]) {
    const host = { ...JSON.parse(base.config["openclaw:host"]!), memoryMb: 4096 * n + 16384 };
    const config = {
      ...base.config,
      "openclaw:host": JSON.stringify(host),
      "openclaw:gateway": JSON.stringify({ memoryMb: 2048, instances: Array.from({ length: n }, (_, i) => ({ name: `gw${i + 1}` })) }),
      "openclaw:channelTokens": "{}",
    };
    const started = process.hrtime.bigint();
    const render = await renderStack({ ...base, config });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    rows.push(`${String(n).padStart(8)}  ${String(render.resources.length).padStart(9)}  ${ms.toFixed(0).padStart(7)}  ${(ms / render.resources.length).toFixed(2).padStart(11)}`);
  }
  console.log(rows.join("\n"));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
