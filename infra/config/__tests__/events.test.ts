/** `events`: the hook, or SQS (on aws, and off aws against an emulator). */
import { stackConfig } from "../../../test/unit/fixtures";
import { parse, problemsOf, validAws } from "./helpers";

describe("events transport", () => {
  const validLocal = () => ({ ...stackConfig("local") });
  const moto = {
    queueUrl: "http://moto:5000/123456789012/q",
    region: "eu-west-1",
    account: "123456789012",
    endpointUrl: "http://moto:5000",
    metadataEndpoint: "http://moto:5000",
  };

  test("aws reads ECR events from SQS; local and existing from the hook", () => {
    expect(parse(validAws()).events).toEqual({ transport: "sqs", sqs: { waitSeconds: 20 } });
    expect(parse(validLocal(), "local").events).toEqual({ transport: "hook" });
  });

  test("off aws, the sqs transport names its queue, region and account (an emulator)", () => {
    const spec = parse({ ...validLocal(), events: { transport: "sqs", sqs: moto } }, "local");
    expect(spec.events).toEqual({ transport: "sqs", sqs: { ...moto, waitSeconds: 20 } });
  });

  test("bad or misplaced keys name the key", () => {
    expect(problemsOf({ ...validLocal(), events: { transport: "sqs" } }, "local")).toEqual([
      "events.sqs.queueUrl: is required",
      "events.sqs.region: is required",
      "events.sqs.account: is required",
    ]);
    expect(
      problemsOf(
        { ...validLocal(), events: { transport: "sqs", sqs: { ...moto, endpointUrl: "moto" } } },
        "local",
      ),
    ).toEqual([
      'events.sqs.endpointUrl: invalid value "moto" (http(s)://host[:port] of an AWS API emulator)',
    ]);
    expect(problemsOf({ ...validAws(), events: { transport: "hook" } })).toEqual([
      'events.transport: ECR events reach an aws master through SQS only: use "sqs" (the default)',
    ]);
    expect(problemsOf({ ...validAws(), events: { sqs: { endpointUrl: "http://moto:5000" } } })).toEqual([
      "events.sqs.endpointUrl: is set by the stack itself on aws (emulators/testing use it off aws only)",
    ]);
    expect(problemsOf({ ...validLocal(), events: { sqs: moto } }, "local")).toEqual([
      'events.sqs: only applies to events.transport "sqs"',
    ]);
  });
});
