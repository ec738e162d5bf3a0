import { MessengerClient } from "../client.js";
import type { RegisterCommand } from "./args.js";
import type { Io } from "./chat.js";
import { readPassword } from "./password-prompt.js";

/** `register <username>`: creates the account and exits. */
export async function runRegister(cmd: RegisterCommand, io: Io): Promise<number> {
  const password = await readPassword(cmd.username, { env: io.env, input: io.stdin, output: io.stderr }, { confirm: true });
  // Registering needs no device; the id is only there because the client requires one.
  const client = new MessengerClient({ url: cmd.url, deviceId: "cli-register" });
  try {
    const user = await client.register(cmd.username, password);
    io.stdout.write(`registered ${user.username} (id ${user.id})\n`);
    return 0;
  } finally {
    await client.close();
  }
}
