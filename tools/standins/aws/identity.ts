/**
 * Who the credentials are (STS GetCallerIdentity), asked once per plugin run: the real
 * provider asks at Configure to validate the credentials and learn the account id, which
 * goes into ARNs that no API returns (e.g. an Elastic IP's).
 */
import { GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { send, sts } from "./clients";

export interface CallerIdentity {
  accountId: string;
  arn: string;
  userId: string;
}

let identity: Promise<CallerIdentity> | undefined;

export function callerIdentity(): Promise<CallerIdentity> {
  identity ??= send("validating provider credentials", sts(), new GetCallerIdentityCommand({})).then(
    (out) => ({
      accountId: out.Account!,
      arn: out.Arn!,
      userId: out.UserId!,
    }),
  );
  identity.catch(() => (identity = undefined));
  return identity;
}

export const accountId = async (): Promise<string> => (await callerIdentity()).accountId;
