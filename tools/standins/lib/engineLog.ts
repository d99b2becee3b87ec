/**
 * Diagnostics sent to the Pulumi engine, attached to a resource (they appear under it in
 * `pulumi up`). A raw provider has no logger for CRUD calls, so we talk to the engine's Log RPC
 * at the address the engine gave us on the command line. Without an engine (tests), lines go
 * to stderr if SALTPIPE_STANDIN_LOG is set.
 */
import * as grpc from "@grpc/grpc-js";
import * as engrpc from "@pulumi/pulumi/proto/engine_grpc_pb";
import * as engproto from "@pulumi/pulumi/proto/engine_pb";

export type Severity = "debug" | "info" | "warning" | "error";
export type Log = (severity: Severity, message: string) => void;

const severities: Record<Severity, engproto.LogSeverity> = {
  debug: engproto.LogSeverity.DEBUG,
  info: engproto.LogSeverity.INFO,
  warning: engproto.LogSeverity.WARNING,
  error: engproto.LogSeverity.ERROR,
};

let engine: engrpc.EngineClient | undefined;

/** Connect to the engine whose address is the first argument that is not a flag (`--tracing` takes a value). */
export function connectEngine(args: string[]): void {
  const address = args.find((a, i) => !a.startsWith("-") && args[i - 1] !== "--tracing");
  if (address) engine = new engrpc.EngineClient(address, grpc.credentials.createInsecure());
}

/** A logger bound to one resource. */
export function logFor(urn: string): Log {
  return (severity, message) => {
    if (!engine) {
      if (process.env.SALTPIPE_STANDIN_LOG) process.stderr.write(`[${severity}] ${message}\n`);
      return;
    }
    const req = new engproto.LogRequest();
    req.setSeverity(severities[severity]);
    req.setMessage(message);
    req.setUrn(urn);
    engine.log(req, () => undefined);
  };
}
