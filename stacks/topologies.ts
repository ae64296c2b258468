/**
 * Which module builds each topology. A new topology plugs in here: its
 * config schema in infra/config/schema.ts, its module beside singleVps.ts,
 * one line in BUILDERS.
 */
import { ConfigOf, StackConfig, Topology } from "../infra/config/schema";
import { StackOutputs } from "./shared/outputs";
import { singleVps } from "./singleVps";
import { tailscaleHost } from "./tailscaleHost";

export class TopologyNotBuiltError extends Error {
  constructor(topology: string) {
    super(`the ${topology} topology has a config model but its stack is not built yet`);
    this.name = "TopologyNotBuiltError";
  }
}

const notBuilt = (topology: Topology) => (): StackOutputs => {
  throw new TopologyNotBuiltError(topology);
};

const BUILDERS: { [T in Topology]: (config: ConfigOf<T>) => StackOutputs } = {
  "single-vps": singleVps,
  swarm: notBuilt("swarm"),
  "tailscale-host": tailscaleHost,
};

export function buildStack(config: StackConfig): StackOutputs {
  return (BUILDERS[config.topology] as (config: StackConfig) => StackOutputs)(config);
}
