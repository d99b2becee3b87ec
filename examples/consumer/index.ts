/** The shop team's Pulumi program. */
import { readShopConfig } from "./config";
import { deployShop } from "./shop";

const shop = deployShop(readShopConfig());

export const masterAddress = shop.masterAddress;
export const webAddresses = shop.webAddresses;
export const imageDigest = shop.imageDigest;
