/**
 * The small scripts that turn an installed host into a Salt node: write files, make and
 * exchange keys, (re)start services, wait for minions. Scripts read secrets and keys from
 * their own text or stdin, never from the command line, so nothing secret reaches `ps`.
 */
import { lines, shellQuote } from "./shell";

export interface HostFile {
  readonly path: string;
  readonly content: string;
  /** Octal mode, e.g. "0600" for files that hold secrets. */
  readonly mode: string;
}

export const MASTER_PKI = "/etc/salt/pki/master";
export const MINION_PKI = "/etc/salt/pki/minion";

/** Text that can travel in a quoted heredoc: readable in `pulumi preview --diff`. */
function heredocDelimiter(content: string): string | undefined {
  if (content.includes("\0") || content.includes("\r")) return undefined;
  let delimiter = "SALTPIPE_EOF";
  while (content.split("\n").includes(delimiter)) delimiter += "_";
  return delimiter;
}

/** Writes one file's content to `target` (a shell word), as a heredoc when it can. */
function writeContent(content: string, target: string): string {
  const delimiter = heredocDelimiter(content);
  if (delimiter === undefined) {
    return `printf '%s' ${shellQuote(Buffer.from(content, "utf8").toString("base64"))} | base64 -d > ${target}`;
  }
  // printf drops the newline the heredoc adds, so the file keeps its exact bytes.
  const body = content.endsWith("\n") ? content : `${content}\n`;
  const strip = content.endsWith("\n") ? "" : ` && truncate -s -1 ${target}`;
  return `cat > ${target} <<'${delimiter}'${strip}\n${body}${delimiter}`;
}

/** Writes each file atomically (temp file + rename) with its mode; prints only the paths. */
export function renderWriteFilesScript(files: readonly HostFile[]): string {
  const writes = files.map((f) => {
    const path = shellQuote(f.path);
    const tmp = shellQuote(`${f.path}.saltpipe-tmp`);
    return lines(
      `install -d -m 0755 "$(dirname ${path})"`,
      writeContent(f.content, tmp),
      `chmod ${f.mode} ${tmp}`,
      `mv -f ${tmp} ${path}`,
      `echo "wrote ${f.path}"`,
    );
  });
  return lines("#!/bin/bash", "set -euo pipefail", "umask 077", ...writes);
}

/**
 * Replaces the directory `root` with exactly `files` (paths relative to it), atomically:
 * a new tree is written beside the old one and swapped in, so Salt never reads a half upload.
 */
export function renderSyncTreeScript(root: string, files: readonly HostFile[]): string {
  const next = `${root}.saltpipe-new`;
  const writes = files.map((f) => {
    const path = shellQuote(`${next}/${f.path}`);
    return lines(
      `install -d -m 0755 "$(dirname ${path})"`,
      writeContent(f.content, path),
      `chmod ${f.mode} ${path}`,
    );
  });
  return lines(
    "#!/bin/bash",
    "set -euo pipefail",
    `rm -rf ${shellQuote(next)} ${shellQuote(`${root}.saltpipe-old`)}`,
    `mkdir -p ${shellQuote(next)}`,
    ...writes,
    `[ ! -e ${shellQuote(root)} ] || mv ${shellQuote(root)} ${shellQuote(`${root}.saltpipe-old`)}`,
    `mv ${shellQuote(next)} ${shellQuote(root)}`,
    `rm -rf ${shellQuote(`${root}.saltpipe-old`)}`,
    `echo "synced ${files.length} files to ${root}"`,
  );
}

/**
 * Makes `<dir>/<name>.pem` (RSA, PEM) and `<dir>/<name>.pub` (PEM SubjectPublicKeyInfo), the
 * files Salt reads, once. With ssh-keygen (every host runs sshd) rather than
 * `salt-key --gen-keys`, which in Salt 3008 writes the keys and then fails computing their
 * fingerprint (`salt/utils/crypt.py … key.encode` traceback on every run).
 */
function rsaKeyPair(dir: string, name: string): string[] {
  const pem = shellQuote(`${dir}/${name}.pem`);
  const pub = shellQuote(`${dir}/${name}.pub`);
  return [
    `if [ ! -s ${pem} ]; then rm -f ${pem} ${pub}; ssh-keygen -q -t rsa -b 2048 -m PEM -N "" -C "" -f ${pem}; rm -f ${pem}.pub; fi`,
    `[ -s ${pub} ] || ssh-keygen -e -m PKCS8 -f ${pem} >${pub}`,
  ];
}

/**
 * Makes the master's key pair once and prints its public key, which minions pin
 * (`minion_master.pub`) so they only ever talk to this master.
 */
export function renderMasterKeyScript(): string {
  return lines(
    "#!/bin/bash",
    "set -euo pipefail",
    "umask 077",
    `mkdir -p ${MASTER_PKI}/minions`,
    ...rsaKeyPair(MASTER_PKI, "master"),
    `cat ${MASTER_PKI}/master.pub`,
  );
}

/**
 * Makes the minion's key pair on the minion (the private key never leaves the host),
 * pins the master's public key, and prints the minion's public key.
 */
export function renderMinionKeyScript(masterPublicKey: string): string {
  return lines(
    "#!/bin/bash",
    "set -euo pipefail",
    "umask 077",
    `mkdir -p ${MINION_PKI}`,
    ...rsaKeyPair(MINION_PKI, "minion"),
    writeContent(publicKeyText(masterPublicKey), `${MINION_PKI}/minion_master.pub`),
    `chmod 0644 ${MINION_PKI}/minion_master.pub`,
    `cat ${MINION_PKI}/minion.pub`,
  );
}

/** A PEM public key as printed by a key script, checked so no other text is ever written as a key. */
function publicKeyText(pem: string): string {
  const text = pem.trim();
  if (!/^-----BEGIN (RSA )?PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+\n-----END (RSA )?PUBLIC KEY-----$/.test(text)) {
    throw new Error(`not a PEM public key: ${JSON.stringify(text.slice(0, 40))}…`);
  }
  return `${text}\n`;
}

function minionKeyPath(minionId: string): string {
  return `${MASTER_PKI}/minions/${minionId}`;
}

/** Accepts a minion by writing its public key where `salt-key -a` would: no auto_accept. */
export function renderAcceptMinionScript(minionId: string, minionPublicKey: string): string {
  const id = shellQuote(minionId);
  return lines(
    "#!/bin/bash",
    "set -euo pipefail",
    `mkdir -p ${MASTER_PKI}/minions`,
    `rm -f ${MASTER_PKI}/minions_pre/${id} ${MASTER_PKI}/minions_rejected/${id} ${MASTER_PKI}/minions_denied/${id}`,
    writeContent(publicKeyText(minionPublicKey), shellQuote(minionKeyPath(minionId))),
    `chmod 0644 ${shellQuote(minionKeyPath(minionId))}`,
    `echo "accepted ${minionId}"`,
  );
}

/** Removes a minion's key; tolerant, so destroy works even when the master is already gone. */
export function renderForgetMinionScript(minionId: string): string {
  return `rm -f ${shellQuote(minionKeyPath(minionId))} || true\n`;
}

/** Enables and restarts services; the resource's triggers decide when this runs. */
export function renderRestartScript(services: readonly string[]): string {
  const names = services.map(shellQuote).join(" ");
  return lines(
    "#!/bin/bash",
    "set -euo pipefail",
    "systemctl daemon-reload",
    `systemctl enable ${names} >/dev/null 2>&1`,
    `systemctl restart ${names}`,
    ...services.map(
      (s) =>
        `systemctl is-active --quiet ${shellQuote(s)} || { journalctl -u ${shellQuote(s)} -n 50 --no-pager >&2; exit 1; }`,
    ),
    `echo "restarted ${services.join(" ")}"`,
  );
}

/**
 * Waits until every minion answers `test.ping` through the master, or fails after
 * `timeoutSeconds` naming the minions that did not answer.
 */
export function renderWaitForMinionsScript(minionIds: readonly string[], timeoutSeconds: number): string {
  const list = shellQuote(minionIds.join(","));
  return lines(
    "#!/bin/bash",
    "set -uo pipefail",
    `deadline=$(( $(date +%s) + ${timeoutSeconds} ))`,
    "while :; do",
    `  answered=$(salt --out=json --static --timeout=5 -L ${list} test.ping 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(" ".join(sorted(k for k,v in d.items() if v is True)))' 2>/dev/null)`,
    `  missing=$(for id in ${minionIds.map(shellQuote).join(" ")}; do case " $answered " in *" $id "*) ;; *) printf '%s ' "$id";; esac; done)`,
    `  [ -z "$missing" ] && { echo "all ${minionIds.length} minions answer"; exit 0; }`,
    `  [ "$(date +%s)" -ge "$deadline" ] && { echo "minions not answering after ${timeoutSeconds}s: $missing" >&2; exit 1; }`,
    "  sleep 2",
    "done",
  );
}

/**
 * Applies the highstate (the minions' base: Docker engine, proxy) on the given minions
 * through the master, and fails listing every state that did not succeed.
 */
export function renderHighstateScript(minionIds: readonly string[], timeoutSeconds: number): string {
  const check = [
    "import json, sys",
    "out = json.load(sys.stdin)",
    "bad = []",
    "for minion in sys.argv[1].split(','):",
    "    result = out.get(minion)",
    "    if not isinstance(result, dict):",
    "        bad.append('%s: %s' % (minion, str(result)[:300] if result is not None else 'no answer'))",
    "        continue",
    "    for sid, state in result.items():",
    "        if not isinstance(state, dict) or state.get('result') is False:",
    "            comment = state.get('comment', '') if isinstance(state, dict) else state",
    "            bad.append('%s: %s: %s' % (minion, sid, str(comment)[:300]))",
    "if bad:",
    "    sys.exit('highstate failed:\\n' + '\\n'.join(bad))",
    "print('highstate applied on %d minions' % len(sys.argv[1].split(',')))",
  ].join("\n");
  const list = shellQuote(minionIds.join(","));
  return lines(
    "#!/bin/bash",
    "set -euo pipefail",
    `out=$(salt --out=json --static --timeout=${timeoutSeconds} -L ${list} state.highstate || true)`,
    `printf '%s' "$out" | python3 -c ${shellQuote(check)} ${list}`,
  );
}

/** Makes the master read uploaded states/pillar: clears the fileserver cache and refreshes pillar. */
export function renderStatesRefreshScript(): string {
  return lines(
    "#!/bin/bash",
    "set -euo pipefail",
    "salt-run -l quiet fileserver.update >/dev/null",
    "salt -l quiet --timeout=10 '*' saltutil.refresh_pillar >/dev/null 2>&1 || true",
    'echo "states refreshed"',
  );
}
