import { Code, ConnectError } from "@connectrpc/connect";
import type { User } from "@messenger/proto/accounts/v1/types";
import { MessengerClient, type ResumeState } from "../client.js";
import type { Urls } from "./args.js";
import { belongsTo, describeOwner, type SavedResume } from "./resume-file.js";

/**
 * Runs `call` on a client of these gateways, starting with the first; when a gateway cannot
 * be reached (UNAVAILABLE) it tries the next one, each once, with a fresh client that starts
 * there (the client rotates its addresses on a failed stream or call, but register and login
 * go to its first address only). Resolves with the client whose call worked; it is the
 * caller's to close.
 */
export async function onAnyGateway<T>(
  urls: Urls,
  deviceId: string,
  resume: ResumeState | undefined,
  call: (client: MessengerClient) => Promise<T>,
): Promise<{ client: MessengerClient; result: T }> {
  let lastError: unknown;
  for (let i = 0; i < urls.length; i++) {
    const client = new MessengerClient({ url: [...urls.slice(i), ...urls.slice(0, i)], deviceId, ...(resume ? { resume } : {}) });
    try {
      return { client, result: await call(client) };
    } catch (err) {
      await client.close();
      if (ConnectError.from(err).code !== Code.Unavailable) throw err;
      lastError = err;
    }
  }
  throw lastError;
}

/**
 * Logs in and resumes from the saved state only if it is this account's on this deployment
 * (see `belongsTo`); a state of another deployment is reported through `warn` and never
 * replayed: the client is made again without it.
 */
export async function signIn(opts: {
  urls: Urls;
  deviceId: string;
  username: string;
  password: string;
  saved: SavedResume | undefined;
  savedPath: string;
  warn: (message: string) => void;
}): Promise<{ client: MessengerClient; me: User }> {
  const { urls, deviceId, username, password, saved } = opts;
  const login = (c: MessengerClient): Promise<User> => c.login(username, password);
  const first = await onAnyGateway(urls, deviceId, saved?.state, login);
  if (!saved || belongsTo(saved.owner, first.result.id, urls)) return { client: first.client, me: first.result };
  opts.warn(`the resume state in ${opts.savedPath} belongs to ${describeOwner(saved.owner)}, not to ${username} (${first.result.id}) here; starting without it`);
  await first.client.close();
  const again = await onAnyGateway(urls, deviceId, undefined, login);
  return { client: again.client, me: again.result };
}
