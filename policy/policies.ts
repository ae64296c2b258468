/**
 * Every rule of ./rules.ts as a mandatory CrossGuard resource policy: the
 * engine hands each resource's inputs and provider to the rule and reports
 * each problem with the resource's URN and the rule's remediation.
 */
import { ResourceValidation, ResourceValidationPolicy } from "@pulumi/policy";
import { RULES, violationMessage } from "./rules";

export const POLICY_PACK_NAME = "openclaw-infra";

export const POLICIES: (ResourceValidationPolicy & { validateResource: ResourceValidation })[] = RULES.map((rule) => ({
  name: rule.name,
  description: rule.description,
  remediationSteps: rule.remediation,
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    const resource = { type: args.type, urn: args.urn, name: args.name, props: args.props, provider: args.provider?.urn };
    for (const problem of rule.check(resource)) reportViolation(violationMessage(rule, args.urn, problem));
  },
}));
