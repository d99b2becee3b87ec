/**
 * Settings of the Node.js process that runs a Pulumi program, applied by the program
 * itself (stacks/index.ts) — the same for a real `pulumi up` and for the construction bench.
 *
 * Every Output the Pulumi SDK creates wraps a promise in `debuggablePromise`, which records
 * `new Error().stack` for the promise-leak report; a resource registers dozens of them (one
 * per output property: a docker Container has ~80). Formatting those stack traces was about
 * half of the CPU time of constructing a 100-minion program (bench/construct.ts, measured
 * with `node --cpu-prof`). The traces are only ever printed with `PULUMI_DEBUG_PROMISE_LEAKS`
 * set; source positions of resources do not depend on this limit (the SDK raises it itself
 * while it reads them). So unless that variable is set, or `SALTPIPE_STACK_TRACE_LIMIT`
 * asks for another value, errors created while the program runs carry no stack frames: their
 * messages (every saltpipe error names the bad key and the stack file) are unchanged.
 */
export const DEFAULT_STACK_TRACE_LIMIT = 0;

export function tuneProgramRuntime(env: NodeJS.ProcessEnv = process.env): number {
  if (env.PULUMI_DEBUG_PROMISE_LEAKS) return Error.stackTraceLimit;
  const asked = env.SALTPIPE_STACK_TRACE_LIMIT;
  const limit = asked !== undefined && /^[0-9]{1,4}$/.test(asked) ? Number(asked) : DEFAULT_STACK_TRACE_LIMIT;
  Error.stackTraceLimit = limit;
  return limit;
}
