/**
 * Salt master, minion and salt-api configuration, and the master's webhook proxy (nginx):
 * one renderer per text (./master.ts, ./minion.ts, ./salt-api.ts, ./hook-proxy.ts), the names
 * they share (./shared.ts), and the texts of a whole environment from its spec (./from-spec.ts).
 *
 * Pure functions: no Pulumi, no I/O. Secrets arrive as plain strings; the caller wraps the
 * returned text in a Pulumi secret (the master config holds the webhook secret).
 *
 * Webhook path (see salt-states/README.md): registry → nginx on the master (`hookPort`,
 * TLS when a certificate is given, POST only, body capped, rate-limited, `Content-Type`
 * forced to `application/json`) → salt-api `rest_cherrypy` `/hook/saltpipe/registry` on
 * 127.0.0.1:`apiPort` (`webhook_disable_auth`: the reactor verifies every request) → event
 * `salt/netapi/hook/saltpipe/registry` → reactor → `runner.saltpipe.receive`.
 */
export * from "./shared";
export * from "./master";
export * from "./minion";
export * from "./salt-api";
export * from "./hook-proxy";
export * from "./from-spec";
