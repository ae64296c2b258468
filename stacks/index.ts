/**
 * The Pulumi program (Pulumi.yaml `main`): config is read and validated
 * before any resource is registered; then the topology's module builds
 * config → hosts and their baseline → workloads → operations → outputs.
 */
import { readStackConfig } from "../infra/config/engine";
import { buildStack } from "./topologies";

export = async () => buildStack(readStackConfig());
