/**
 * The policy pack the engine runs: `pulumi preview --policy-pack policy/`.
 * Constructing a PolicyPack serves it to the engine, so this file only does that.
 */
import { PolicyPack } from "@pulumi/policy";
import { POLICIES, POLICY_PACK_NAME } from "./policies";

new PolicyPack(POLICY_PACK_NAME, { enforcementLevel: "mandatory", policies: POLICIES });
