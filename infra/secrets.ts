/**
 * Secrets the stack generates, and the names that must never carry one.
 *
 * Tokens and keys the stack generates: a RandomPassword whose `keepers`
 * carry a rotation value from config, so changing that value (and running
 * `pulumi up`) issues a new one deliberately, and nothing else ever does.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

export function generatedSecret(name: string, rotation: string, parent: pulumi.Resource): pulumi.Output<string> {
  const password = new random.RandomPassword(name, { length: 48, special: false, keepers: { rotation } }, { parent });
  return pulumi.secret(password.result);
}

/**
 * Environment variable names that carry secrets. Env is readable through the
 * Docker API and in unit files, so such names are refused there: deliver the
 * value as a file instead.
 */
export function looksLikeSecretName(name: string): boolean {
  return /TOKEN|SECRET|PASSWORD|API_KEY|MASTER_KEY/i.test(name);
}
