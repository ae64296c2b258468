/**
 * The Pulumi program (Pulumi.yaml `main`). Config is validated before any
 * resource is registered; then the topology's stack module builds everything
 * and returns the stack outputs.
 */
import { readStackConfig } from "./stackConfig";
import { buildStack } from "../stacks";

export = async () => buildStack(readStackConfig());
