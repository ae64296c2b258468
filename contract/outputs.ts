/**
 * The stack outputs contract (./outputs.schema.json): the schema is the one
 * source of the contract and of its version, which every stack exports.
 */
import schema from "./outputs.schema.json";

export const OUTPUTS_SCHEMA = schema;

/** MAJOR.MINOR; bump it with every schema change (rules in docs/outputs.md). */
export const OUTPUTS_CONTRACT_VERSION: string = schema.properties.contractVersion.const;
