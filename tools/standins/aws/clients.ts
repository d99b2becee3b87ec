/**
 * AWS SDK v3 clients for the configured region (or a resource's own `region`), with the
 * endpoint overrides of ./config.ts, and `send`, which reports an API error the way the
 * Terraform AWS provider (Go SDK v2) words it:
 *   `<what failed>: operation error <Service>: <Operation>, https response error StatusCode: <n>,
 *    RequestID: <id>, api error <Code>: <Message>`
 */
import { EC2Client } from "@aws-sdk/client-ec2";
import { ECRClient } from "@aws-sdk/client-ecr";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { IAMClient } from "@aws-sdk/client-iam";
import { SQSClient } from "@aws-sdk/client-sqs";
import { STSClient } from "@aws-sdk/client-sts";
import { config, endpointFor } from "./config";

// The SDK warns on every start under Node 20 that later releases will need Node 22; these
// versions support Node 20, and the warning would reach every `pulumi up` as plugin stderr.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

type ClientClass<C> = new (options: { region: string; endpoint?: string; maxAttempts?: number }) => C;
const cache = new Map<string, unknown>();

function client<C>(cls: ClientClass<C>, serviceId: string, region?: string): C {
  const r = region ?? config().region;
  const key = `${serviceId}|${r}`;
  if (!cache.has(key))
    cache.set(key, new cls({ region: r, endpoint: endpointFor(serviceId), maxAttempts: 5 }));
  return cache.get(key) as C;
}

export const ec2 = (region?: string) => client(EC2Client, "EC2", region);
export const ecr = (region?: string) => client(ECRClient, "ECR", region);
export const elbv2 = (region?: string) =>
  client(ElasticLoadBalancingV2Client, "Elastic Load Balancing v2", region);
export const events = (region?: string) => client(EventBridgeClient, "EventBridge", region);
export const iam = () => client(IAMClient, "IAM");
export const sqs = (region?: string) => client(SQSClient, "SQS", region);
export const sts = (region?: string) => client(STSClient, "STS", region);

/** An API error: the service's error code (e.g. `InvalidVpcID.NotFound`) and message. */
export class AwsError extends Error {
  constructor(
    message: string,
    /** The code on the wire (`LoadBalancerNotFound`), as the Go SDK reports it. */
    readonly code: string,
    readonly apiMessage: string,
    /** The JS SDK's exception name (`LoadBalancerNotFoundException`), where it differs. */
    readonly sdkName: string = code,
  ) {
    super(message);
  }
}

interface SdkError {
  name: string;
  Code?: string;
  message: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
  $fault?: string;
}

interface AnyClient {
  config: { serviceId: string };
  send(command: never): Promise<unknown>;
}

/** The output type of an SDK command (its last `Command<…, Output, …>` type parameter). */
type OutputOf<T> = T extends {
  resolveMiddleware(stack: infer _S, config: infer _C, options: infer _O): infer H;
}
  ? H extends (args: never) => Promise<{ output: infer O }>
    ? O
    : never
  : never;

/** Send COMMAND; on failure throw `<what>: operation error …` with the API's code and message. */
export async function send<T extends object>(what: string, c: AnyClient, command: T): Promise<OutputOf<T>> {
  try {
    return (await c.send(command as never)) as OutputOf<T>;
  } catch (err) {
    const e = err as SdkError;
    const operation = command.constructor.name.replace(/Command$/, "");
    const prefix = `${what}: operation error ${c.config.serviceId}: ${operation}`;
    if (!e.$metadata?.httpStatusCode)
      throw new AwsError(`${prefix}, request send failed: ${e.message}`, "RequestSendFailed", e.message);
    const status = e.$metadata.httpStatusCode;
    const id = e.$metadata.requestId ?? "";
    const code = e.Code ?? e.name;
    throw new AwsError(
      `${prefix}, https response error StatusCode: ${status}, RequestID: ${id}, api error ${code}: ${e.message}`,
      code,
      e.message,
      e.name,
    );
  }
}

/** True if ERR is an API error with one of CODES (e.g. a NotFound on delete, which is success). */
export function isCode(err: unknown, ...codes: string[]): boolean {
  return err instanceof AwsError && (codes.includes(err.code) || codes.includes(err.sdkName));
}

/** Poll READ until DONE holds (the real provider's waiters), or fail after TIMEOUT ms. */
export async function waitFor<T>(
  what: string,
  read: () => Promise<T>,
  done: (v: T) => boolean,
  timeoutMs = 120_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (let delay = 200; ; delay = Math.min(delay * 2, 5000)) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > until) throw new Error(`waiting for ${what}: timeout after ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** The request id of refusals the stand-in makes itself, for rules the emulator does not enforce. */
export const STANDIN_REQUEST_ID = "offline-stand-in";

/** The error AWS would answer OPERATION with, raised by the stand-in where the emulator is silent. */
export function refusal(
  what: string,
  serviceId: string,
  operation: string,
  code: string,
  message: string,
): AwsError {
  return new AwsError(
    `${what}: operation error ${serviceId}: ${operation}, https response error StatusCode: 400, RequestID: ${STANDIN_REQUEST_ID}, api error ${code}: ${message}`,
    code,
    message,
  );
}
