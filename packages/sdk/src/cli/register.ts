import type { RegisterCommand } from "./args.js";
import type { Io } from "./chat.js";
import { readPassword } from "./password-prompt.js";
import { onAnyGateway } from "./sign-in.js";

/** `register <username>`: creates the account and exits. */
export async function runRegister(cmd: RegisterCommand, io: Io): Promise<number> {
  const password = await readPassword(cmd.username, { env: io.env, input: io.stdin, output: io.stderr }, { confirm: true });
  // Registering needs no device; the id is only there because the client requires one.
  const { client, result: user } = await onAnyGateway(cmd.urls, "cli-register", undefined, (c) => c.register(cmd.username, password));
  try {
    io.stdout.write(`registered ${user.username} (id ${user.id})\n`);
    return 0;
  } finally {
    await client.close();
  }
}
