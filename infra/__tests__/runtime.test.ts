import { DEFAULT_STACK_TRACE_LIMIT, tuneProgramRuntime } from "../runtime";

describe("tuneProgramRuntime", () => {
  const saved = Error.stackTraceLimit;
  afterEach(() => {
    Error.stackTraceLimit = saved;
  });

  test("drops stack capture by default: a message stays, frames go", () => {
    expect(tuneProgramRuntime({})).toBe(DEFAULT_STACK_TRACE_LIMIT);
    const err = new Error("saltpipe:minions: bad");
    expect(err.stack).toBe("Error: saltpipe:minions: bad");
  });

  test("SALTPIPE_STACK_TRACE_LIMIT asks for frames; junk is ignored", () => {
    expect(tuneProgramRuntime({ SALTPIPE_STACK_TRACE_LIMIT: "25" })).toBe(25);
    expect(Error.stackTraceLimit).toBe(25);
    expect(tuneProgramRuntime({ SALTPIPE_STACK_TRACE_LIMIT: "lots" })).toBe(DEFAULT_STACK_TRACE_LIMIT);
  });

  test("PULUMI_DEBUG_PROMISE_LEAKS keeps the limit as it was (leak reports need the traces)", () => {
    Error.stackTraceLimit = 17;
    expect(tuneProgramRuntime({ PULUMI_DEBUG_PROMISE_LEAKS: "1" })).toBe(17);
    expect(Error.stackTraceLimit).toBe(17);
  });
});
