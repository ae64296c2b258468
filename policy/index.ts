/**
 * The policy pack the engine runs (`pulumi preview --policy-pack policy/`):
 * every rule of ./rules.ts as a mandatory resource policy, so a violation
 * fails the preview with the resource's URN and the rule's remediation.
 */
import { PolicyPack, ResourceValidationPolicy } from "@pulumi/policy";
import { RULES, violationMessage } from "./rules";

export const POLICY_PACK_NAME = "openclaw-infra";

const policies: ResourceValidationPolicy[] = RULES.map((rule) => ({
  name: rule.name,
  description: rule.description,
  remediationSteps: rule.remediation,
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    const resource = { type: args.type, urn: args.urn, name: args.name, props: args.props, provider: args.provider?.urn };
    for (const problem of rule.check(resource)) reportViolation(violationMessage(rule, args.urn, problem));
  },
}));

new PolicyPack(POLICY_PACK_NAME, { enforcementLevel: "mandatory", policies });
