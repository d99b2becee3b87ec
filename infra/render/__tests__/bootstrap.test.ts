import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  renderAcceptMinionScript,
  renderHighstateScript,
  renderMasterKeyScript,
  renderMinionKeyScript,
  renderRestartScript,
  renderSyncTreeScript,
  renderWaitForMinionsScript,
  renderWriteFilesScript,
} from "../bootstrap";

const PUBLIC_KEY =
  "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtest+/=\n-----END PUBLIC KEY-----";

function bash(script: string): string {
  return execFileSync("bash", ["-s"], { input: script, encoding: "utf8" });
}

function syntaxOk(script: string): void {
  execFileSync("bash", ["-n"], { input: script });
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-render-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("renderWriteFilesScript, run for real", () => {
  const tricky = [
    "plain line",
    "quotes ' \" and $HOME and `backticks` and \\ backslash",
    "SALTPIPE_EOF",
    "  indented: {{ jinja }}",
  ].join("\n");

  test.each([
    ["with a trailing newline", `${tricky}\n`],
    ["without a trailing newline", tricky],
    ["empty", ""],
    ["with a carriage return (base64 path)", "a\r\nb\n"],
  ])("writes exact bytes %s", (_name, content) => {
    const target = path.join(dir, "etc", "salt", "master.d", "x.conf");
    const out = bash(renderWriteFilesScript([{ path: target, content, mode: "0600" }]));
    expect(fs.readFileSync(target, "utf8")).toBe(content);
    expect(fs.statSync(target).mode & 0o777).toBe(0o600);
    expect(out).toBe(`wrote ${target}\n`);
  });

  test("a second run with the same files leaves the same bytes", () => {
    const files = [{ path: path.join(dir, "a.conf"), content: "x: 1\n", mode: "0644" }];
    bash(renderWriteFilesScript(files));
    bash(renderWriteFilesScript(files));
    expect(fs.readdirSync(dir)).toEqual(["a.conf"]);
  });

  test("text content stays readable in the script (so preview diffs show the change)", () => {
    const script = renderWriteFilesScript([
      { path: "/etc/salt/master.d/saltpipe.conf", content: "reactor:\n  - x\n", mode: "0644" },
    ]);
    expect(script).toContain("reactor:\n  - x\n");
  });
});

describe("renderSyncTreeScript, run for real", () => {
  test("replaces the tree with exactly the given files", () => {
    const root = path.join(dir, "srv", "states");
    fs.mkdirSync(path.join(root, "old"), { recursive: true });
    fs.writeFileSync(path.join(root, "old", "stale.sls"), "stale");
    const out = bash(
      renderSyncTreeScript(root, [
        { path: "salt/app/init.sls", content: "include:\n  - .deploy\n", mode: "0644" },
        { path: "top.sls", content: "base: {}\n", mode: "0644" },
      ]),
    );
    expect(out).toBe(`synced 2 files to ${root}\n`);
    expect(fs.readFileSync(path.join(root, "salt/app/init.sls"), "utf8")).toBe("include:\n  - .deploy\n");
    expect(fs.existsSync(path.join(root, "old"))).toBe(false);
    expect(fs.readdirSync(path.dirname(root))).toEqual(["states"]);
  });
});

describe("key scripts", () => {
  test("the minion pins the master's key it was given", () => {
    const script = renderMinionKeyScript(PUBLIC_KEY);
    syntaxOk(script);
    expect(script).toContain(
      `cat > /etc/salt/pki/minion/minion_master.pub <<'SALTPIPE_EOF'\n${PUBLIC_KEY}\nSALTPIPE_EOF`,
    );
    expect(script).toContain("ssh-keygen -q -t rsa -b 2048 -m PEM");
    expect(script).not.toContain("salt-key");
  });

  test("the key pair is made once, quietly, in the PEM formats Salt reads", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "saltpipe-keys-"));
    try {
      const script = renderMasterKeyScript().replaceAll("/etc/salt/pki/master", dir);
      const first = spawnSync("bash", ["-c", script], { encoding: "utf8" });
      expect({ code: first.status, stderr: first.stderr }).toEqual({ code: 0, stderr: "" });
      expect(first.stdout).toMatch(
        /^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n$/,
      );
      const pem = fs.readFileSync(path.join(dir, "master.pem"), "utf8");
      expect(pem).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
      const derived = crypto.createPublicKey(pem).export({ type: "spki", format: "pem" });
      expect(derived).toBe(first.stdout);
      expect(fs.readdirSync(dir).sort()).toEqual(["master.pem", "master.pub", "minions"]);
      const again = spawnSync("bash", ["-c", script], { encoding: "utf8" });
      expect(again.stdout).toBe(first.stdout);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("accepting writes the key where salt-key -a would, and clears pending copies", () => {
    const script = renderAcceptMinionScript("web-1", PUBLIC_KEY);
    syntaxOk(script);
    expect(script).toContain("rm -f /etc/salt/pki/master/minions_pre/web-1");
    expect(script).toContain("cat > /etc/salt/pki/master/minions/web-1 <<'SALTPIPE_EOF'");
  });

  test("anything but a PEM public key is refused", () => {
    expect(() => renderAcceptMinionScript("web-1", "Warning: something\n" + PUBLIC_KEY)).toThrow(
      /not a PEM public key/,
    );
    expect(() => renderMinionKeyScript("")).toThrow(/not a PEM public key/);
  });
});

describe("service scripts", () => {
  test("restart checks every service came up", () => {
    const script = renderRestartScript(["salt-master", "salt-api"]);
    syntaxOk(script);
    expect(script).toContain("systemctl restart salt-master salt-api");
    expect(script).toContain("systemctl is-active --quiet salt-api ||");
  });

  test("waiting for minions names the ones that did not answer", () => {
    const script = renderWaitForMinionsScript(["web-1", "web-2"], 5);
    syntaxOk(script);
    // With no `salt` on PATH nothing answers: the script must fail, naming both.
    const fakeBin = path.join(dir, "bin");
    fs.mkdirSync(fakeBin);
    fs.writeFileSync(path.join(fakeBin, "salt"), "#!/bin/sh\necho '{\"web-1\": true}'\n", { mode: 0o755 });
    const result = (() => {
      try {
        execFileSync("bash", ["-s"], {
          input: script.replace("deadline=$(( $(date +%s) + 5 ))", "deadline=$(date +%s)"),
          env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH}` },
          stdio: ["pipe", "pipe", "pipe"],
        });
        return "passed";
      } catch (e) {
        return String((e as { stderr: Buffer }).stderr);
      }
    })();
    expect(result).toBe("minions not answering after 5s: web-2 \n");
  });
});

describe("renderHighstateScript, run with a fake salt", () => {
  function runWith(saltOutput: string): { ok: boolean; text: string } {
    const fakeBin = path.join(dir, "bin");
    fs.mkdirSync(fakeBin, { recursive: true });
    fs.writeFileSync(path.join(fakeBin, "salt"), `#!/bin/sh\ncat <<'OUT'\n${saltOutput}\nOUT\n`, {
      mode: 0o755,
    });
    try {
      const out = execFileSync("bash", ["-s"], {
        input: renderHighstateScript(["web-1", "web-2"], 60),
        env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH}` },
        stdio: ["pipe", "pipe", "pipe"],
      });
      return { ok: true, text: String(out) };
    } catch (e) {
      return { ok: false, text: String((e as { stderr: Buffer }).stderr) };
    }
  }

  test("passes when every state of every minion succeeded", () => {
    const ok = { "pkg_|-docker_|-docker_|-installed": { result: true, comment: "" } };
    expect(runWith(JSON.stringify({ "web-1": ok, "web-2": ok }))).toEqual({
      ok: true,
      text: "highstate applied on 2 minions\n",
    });
  });

  test("fails naming the failed state and the minion that did not answer", () => {
    const bad = { "service_|-nginx_|-nginx_|-running": { result: false, comment: "nginx failed to start" } };
    const result = runWith(JSON.stringify({ "web-1": bad }));
    expect(result.ok).toBe(false);
    expect(result.text).toContain("web-1: service_|-nginx_|-nginx_|-running: nginx failed to start");
    expect(result.text).toContain("web-2: no answer");
  });

  test("fails on a render error (a list of messages instead of states)", () => {
    const result = runWith(JSON.stringify({ "web-1": ["Rendering SLS 'base:proxy' failed"], "web-2": {} }));
    expect(result.ok).toBe(false);
    expect(result.text).toContain(`web-1: ["Rendering SLS 'base:proxy' failed"]`);
  });
});
