/**
 * The provider's configuration (`Configure`: a provider resource's inputs, or the stack's
 * `<package>:<key>` config for a default provider). `@pulumi/pulumi/provider` answers Configure
 * itself and drops the values, so a stand-in that needs them (the aws region) registers a
 * handler here: it runs before the server's own answer, and a handler that throws fails the
 * provider with its message, as a real provider's Configure does.
 */
import * as grpc from "@grpc/grpc-js";
import type { Props } from "./wire";

/** Provider inputs (`args`) if the engine sent them, else the `<package>:config:<key>` variables. */
export type ConfigureHandler = (args: Props | undefined, variables: Record<string, string>) => Promise<void>;

interface ConfigureCall {
  request: {
    getArgs(): { toJavaScript(): Props } | undefined;
    getVariablesMap(): { toObject(): [string, string][] };
  };
}
type Callback = (err: unknown, value?: unknown) => void;

/** Wrap the Configure method of the provider service the server registers next. */
export function onConfigure(handler: ConfigureHandler): void {
  const addService = grpc.Server.prototype.addService;
  grpc.Server.prototype.addService = function (service, implementation) {
    const impl = implementation as Record<string, unknown>;
    const original = impl.configure as ((call: ConfigureCall, callback: Callback) => void) | undefined;
    if (original) {
      impl.configure = (call: ConfigureCall, callback: Callback) => {
        const args = call.request.getArgs()?.toJavaScript();
        const variables = Object.fromEntries(call.request.getVariablesMap().toObject());
        handler(args, variables).then(
          () => original.call(implementation, call, callback),
          (err: Error) => callback({ code: grpc.status.UNKNOWN, details: err.message, message: err.message }),
        );
      };
    }
    return addService.call(this, service, implementation);
  };
}
