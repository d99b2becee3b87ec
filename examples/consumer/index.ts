/** The shop team's Pulumi program. */
import * as pulumi from "@pulumi/pulumi";
import { readShopConfig } from "./config";
import { deployShop } from "./shop";

const shop = deployShop(readShopConfig());

export const masterAddress = shop.masterAddress;
export const webAddresses = shop.webAddresses;
export const imageDigest = shop.imageDigest;
// For the `saltpipe` command (npx saltpipe status --stack NAME): a plain address and a secret key.
export const masterSsh = shop.masterSsh;
export const masterSshKey = shop.masterSshKey;
export const environmentName = pulumi.getStack();
