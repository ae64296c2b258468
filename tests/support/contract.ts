/** The outputs contract's validator (ajv, strict) and the split of a render's outputs into contract and secrets. */
import Ajv2020 from "ajv/dist/2020";
import { OUTPUTS_SCHEMA } from "../../contract/outputs";
import { SECRET_PLACEHOLDER } from "../../render/offlineRender";

const validate = new Ajv2020({ strict: true, allErrors: true }).compile(OUTPUTS_SCHEMA);

/** Every schema violation as `<path> <message>`; empty when the document holds the contract. */
export function contractProblems(outputs: unknown): string[] {
  return validate(outputs) ? [] : validate.errors!.map((e) => `${e.instancePath || "/"} ${e.message}`);
}

/** The contract part of a render's outputs (what is not a secret), and the names of the secret outputs. */
export function splitOutputs(outputs: Record<string, unknown>): { contract: Record<string, unknown>; secretKeys: string[] } {
  const entries = Object.entries(outputs);
  return {
    contract: Object.fromEntries(entries.filter(([, v]) => v !== SECRET_PLACEHOLDER)),
    secretKeys: entries.filter(([, v]) => v === SECRET_PLACEHOLDER).map(([k]) => k),
  };
}
