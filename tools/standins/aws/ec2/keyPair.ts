/**
 * `aws:ec2/keyPair:KeyPair`: an imported public key. Replacement, from terraform-provider-aws
 * internal/service/ec2/ec2_key_pair.go: ForceNew `key_name`, `key_name_prefix`, `public_key`
 * (only tags change in place); Pulumi auto-names `keyName` unless `keyNamePrefix` is set;
 * the v7 `region` replaces. The id is the key's name.
 */
import { DeleteKeyPairCommand, DescribeKeyPairsCommand, ImportKeyPairCommand } from "@aws-sdk/client-ec2";
import type { ResourceType } from "../../lib/provider";
import { ec2, isCode, send } from "../clients";
import { arnOf, deleteIgnoringNotFound, regional, regionOf, type Regional } from "../common";
import { accountId } from "../identity";
import { autoName, nameOrPrefixed } from "../naming";
import { tagMap, tagsAll } from "../tags";
import { tagSpecifications, updateEc2Tags } from "./tags";

interface KeyPairInputs extends Regional {
  keyName?: string;
  keyNamePrefix?: string;
  publicKey: string;
}

async function describeKey(name: string, region: string) {
  let k;
  try {
    k = (
      await send(
        `reading EC2 Key Pair (${name})`,
        ec2(region),
        new DescribeKeyPairsCommand({ KeyNames: [name] }),
      )
    ).KeyPairs?.[0];
  } catch (err) {
    if (isCode(err, "InvalidKeyPair.NotFound")) return undefined;
    throw err;
  }
  if (!k) return undefined;
  return {
    arn: arnOf("ec2", region, await accountId(), `key-pair/${name}`),
    keyName: k.KeyName,
    keyPairId: k.KeyPairId,
    keyType: k.KeyType,
    fingerprint: k.KeyFingerprint,
    tagsAll: tagsAll(tagMap(k.Tags)),
    region,
  };
}

export const keyPair: ResourceType<KeyPairInputs, KeyPairInputs> = {
  inputs: { ...regional, keyName: true, keyNamePrefix: true, publicKey: true, tags: true },
  outputs: ["arn", "keyName", "keyPairId", "keyType", "fingerprint", "tagsAll", "region"],
  replaceOnChanges: ["keyName", "keyNamePrefix", "publicKey", "region"],
  check(news, olds, name) {
    if (news.keyName != null && news.keyNamePrefix != null)
      throw new Error('"keyName": conflicts with keyNamePrefix');
    return autoName(news, olds, name, { key: "keyName", prefixKey: "keyNamePrefix" });
  },
  async create(i) {
    const region = regionOf(i);
    const name = nameOrPrefixed(i.keyName, i.keyNamePrefix);
    await send(
      `importing EC2 Key Pair (${name})`,
      ec2(region),
      new ImportKeyPairCommand({
        KeyName: name,
        PublicKeyMaterial: Buffer.from(i.publicKey),
        TagSpecifications: tagSpecifications("key-pair", i.tags),
      }),
    );
    return { id: name, outs: await describeKey(name, region) };
  },
  async update(id, olds, news) {
    const region = regionOf(news);
    const live = await describeKey(id, region);
    if (live?.keyPairId) await updateEc2Tags("EC2 Key Pair", live.keyPairId, region, olds.tags, news.tags);
    return describeKey(id, region);
  },
  async delete(id, state) {
    await deleteIgnoringNotFound(["InvalidKeyPair.NotFound"], () =>
      send(`deleting EC2 Key Pair (${id})`, ec2(regionOf(state)), new DeleteKeyPairCommand({ KeyName: id })),
    );
  },
  read: (id, state) => describeKey(id, regionOf(state)),
};
