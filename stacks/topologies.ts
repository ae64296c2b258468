/**
 * Which module builds each topology. A new topology plugs in here: its
 * config schema in infra/config/schema.ts, its module beside singleVps.ts,
 * one line in BUILDERS.
 */
import { ConfigOf, StackConfig, Topology } from "../infra/config/schema";
import { StackOutputs } from "./shared/outputs";
import { singleVps } from "./singleVps";
import { swarm } from "./swarm";
import { tailscaleHost } from "./tailscaleHost";

const BUILDERS: { [T in Topology]: (config: ConfigOf<T>) => StackOutputs } = {
  "single-vps": singleVps,
  swarm,
  "tailscale-host": tailscaleHost,
};

export function buildStack(config: StackConfig): StackOutputs {
  return (BUILDERS[config.topology] as (config: StackConfig) => StackOutputs)(config);
}
