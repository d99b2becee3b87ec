/** The master's SQS engine config, by value, and the boto3 it needs on a onedir master. */
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { BOTO3_PINS } from "../install";
import { renderSqsEngineConfig } from "../sqs-engine";

describe("renderSqsEngineConfig", () => {
  test("engine config on AWS: long polling, the stack's account and region, no emulator", () => {
    const text = renderSqsEngineConfig({
      queueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/prod-events",
      region: "eu-west-1",
      account: "123456789012",
    });
    expect(parse(text)).toEqual({
      engines: [
        {
          saltpipe_sqs: {
            queue_url: "https://sqs.eu-west-1.amazonaws.com/123456789012/prod-events",
            region: "eu-west-1",
            wait_seconds: 20,
            max_messages: 10,
          },
        },
      ],
      saltpipe: {
        events: {
          transport: "sqs",
          account: "123456789012",
          region: "eu-west-1",
          allow_missing_account: false,
        },
      },
    });
  });

  test("engine config for an emulator: endpoints, and a missing event account accepted", () => {
    const config = parse(
      renderSqsEngineConfig({
        queueUrl: "http://moto:5000/123456789012/q",
        region: "eu-west-1",
        account: "123456789012",
        endpointUrl: "http://moto:5000",
        metadataEndpoint: "http://moto:5000",
        waitSeconds: 5,
      }),
    );
    expect(config.engines[0].saltpipe_sqs).toMatchObject({
      endpoint_url: "http://moto:5000",
      metadata_endpoint: "http://moto:5000",
      wait_seconds: 5,
    });
    expect(config.saltpipe.events.allow_missing_account).toBe(true);
  });

  test("engine config refuses bad values, naming them", () => {
    const ok = { queueUrl: "https://sqs/x", region: "eu-west-1", account: "123456789012" };
    expect(() => renderSqsEngineConfig({ ...ok, account: "12" })).toThrow(
      'account: want 12 digits, got "12"',
    );
    expect(() => renderSqsEngineConfig({ ...ok, region: "mars" })).toThrow('region: invalid "mars"');
    expect(() => renderSqsEngineConfig({ ...ok, waitSeconds: 21 })).toThrow(
      "waitSeconds: want 1..20, got 21",
    );
    expect(() => renderSqsEngineConfig({ ...ok, endpointUrl: "moto" })).toThrow(
      "endpointUrl: want http(s)://",
    );
    expect(() => renderSqsEngineConfig({ ...ok, queueUrl: "queue" })).toThrow('queueUrl: invalid "queue"');
  });

  test("the onedir master gets the boto3 pins of requirements/salt.txt", () => {
    const req = fs.readFileSync(path.join(__dirname, "../../../requirements/salt.txt"), "utf8");
    for (const pin of BOTO3_PINS) expect(req.split("\n")).toContain(pin);
  });
});
