/**
 * The local commands that collect a host's SSH public keys once (the program pins one of them,
 * see ../ssh/host-key.ts). They run on the machine running Pulumi, never on a host.
 */
import { shellQuote } from "../render/shell";

/** Container hosts: the public keys from inside the container, waiting for first boot to make them. */
export function renderReadContainerHostKeys(container: string, timeoutSeconds = 120): string {
  const name = shellQuote(container);
  return [
    `docker_cli="\${SALTPIPE_DOCKER_CLI:-$(command -v /usr/bin/docker || command -v docker)}"`,
    `for _ in $(seq ${timeoutSeconds * 2}); do`,
    `  if keys="$("$docker_cli" exec ${name} sh -c 'cat /etc/ssh/ssh_host_*_key.pub' 2>/dev/null)" && [ -n "$keys" ]; then`,
    `    printf '%s\\n' "$keys"; exit 0`,
    "  fi",
    "  sleep 0.5",
    "done",
    `echo "no SSH host keys in container ${container} after ${timeoutSeconds}s" >&2`,
    "exit 1",
  ].join("\n");
}

/** Existing servers, trusted on first use: what the host presents to `ssh-keyscan`, retried while it is not up. */
export function renderKeyscan(host: string, port: number, timeoutSeconds = 120): string {
  const target = shellQuote(host);
  return [
    `for _ in $(seq ${Math.ceil(timeoutSeconds / 5)}); do`,
    `  if keys="$(ssh-keyscan -T 5 -p ${port} -t ed25519,ecdsa ${target} 2>/dev/null)" && [ -n "$keys" ]; then`,
    `    printf '%s\\n' "$keys"; exit 0`,
    "  fi",
    "  sleep 2",
    "done",
    `echo "ssh-keyscan found no ed25519/ecdsa host key at ${host}:${port} within ${timeoutSeconds}s" >&2`,
    "exit 1",
  ].join("\n");
}
