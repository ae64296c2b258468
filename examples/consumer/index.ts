/**
 * Reads only the non-secret contract outputs (this program never needs the
 * referenced stack's passphrase) and exports the allow-list built from them.
 */
import * as pulumi from "@pulumi/pulumi";
import { checkContractVersion, gatewayAllowlist } from "./allowlist";

export = async () => {
  const config = new pulumi.Config();
  const openclaw = new pulumi.StackReference(config.require("openclawStack"));
  const contractVersion = openclaw.requireOutput("contractVersion").apply(checkContractVersion);
  const allowlist = pulumi.all([contractVersion, openclaw.requireOutput("gatewayUrls")]).apply(([, urls]) => gatewayAllowlist(urls as string[]));
  return {
    openclawContractVersion: contractVersion,
    openclawVersion: openclaw.requireOutput("openclawVersion"),
    gatewayOrigins: allowlist.origins,
    squidAcl: allowlist.squidAcl,
  };
};
