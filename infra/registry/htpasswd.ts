/**
 * The push instance's htpasswd line. distribution's htpasswd auth reads bcrypt only; bcryptjs
 * (a maintained, dependency-free implementation) makes it.
 */
import * as bcrypt from "bcryptjs";
import { createHmac } from "crypto";

/**
 * Cost 5, not bcrypt's default 10: the registry checks the password on every request of a push
 * (dozens), and the password is a random 256-bit secret, which no cost factor makes stronger.
 */
const COST = 5;

/**
 * `user:$2b$…` for htpasswd. The salt is derived from the password (HMAC), so the same
 * credentials always give the same line: a second `pulumi up` sees no change.
 */
export function htpasswdLine(user: string, password: string): string {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(user))
    throw new Error(`registry.username: invalid ${JSON.stringify(user)}`);
  const seed = createHmac("sha256", password).update(`saltpipe htpasswd salt ${user}`).digest();
  const salt = `$2b$0${COST}$${bcrypt.encodeBase64(seed, 16)}`;
  return `${user}:${bcrypt.hashSync(password, salt)}\n`;
}
