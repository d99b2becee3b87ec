/**
 * The local commands that collect a host's SSH public keys once (the program pins one of them,
 * see ../ssh/host-key.ts). They run on the machine running Pulumi, never on a host.
 */
import { shellQuote } from "../render/shell";

/** Runs `probe` (which prints the keys on success) until it prints something, or fails with `failure`. */
function untilKeys(probe: string, attempts: number, pause: string, failure: string): string {
  return [
    `for _ in $(seq ${attempts}); do`,
    `  if keys="$(${probe})" && [ -n "$keys" ]; then`,
    `    printf '%s\\n' "$keys"; exit 0`,
    "  fi",
    `  sleep ${pause}`,
    "done",
    `echo ${shellQuote(failure)} >&2`,
    "exit 1",
  ].join("\n");
}

/** Container hosts: the public keys from inside the container, waiting for first boot to make them. */
export function renderReadContainerHostKeys(container: string, timeoutSeconds = 120): string {
  return [
    `docker_cli="\${SALTPIPE_DOCKER_CLI:-$(command -v /usr/bin/docker || command -v docker)}"`,
    untilKeys(
      `"$docker_cli" exec ${shellQuote(container)} sh -c 'cat /etc/ssh/ssh_host_*_key.pub' 2>/dev/null`,
      timeoutSeconds * 2,
      "0.5",
      `no SSH host keys in container ${container} after ${timeoutSeconds}s`,
    ),
  ].join("\n");
}

/** Existing servers, trusted on first use: what the host presents to `ssh-keyscan`, retried while it is not up. */
export function renderKeyscan(host: string, port: number, timeoutSeconds = 120): string {
  return untilKeys(
    `ssh-keyscan -T 5 -p ${port} -t ed25519,ecdsa ${shellQuote(host)} 2>/dev/null`,
    Math.ceil(timeoutSeconds / 5),
    "2",
    `ssh-keyscan found no ed25519/ecdsa host key at ${host}:${port} within ${timeoutSeconds}s`,
  );
}

/**
 * The `update` of a collection command: prints the key collected before. Only a replacement
 * (a new container, another address) collects again; any other change keeps the pinned key.
 */
export const KEEP_COLLECTED_KEYS = `printf '%s\\n' "$PULUMI_COMMAND_STDOUT"`;
