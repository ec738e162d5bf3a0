import { availableParallelism } from "node:os";

const relaxed: Readonly<Record<string, string>> = {
  LOGIN_RATE_LIMIT_PER_USERNAME: "off",
  LOGIN_RATE_LIMIT_PER_ADDRESS: "off",
  REGISTER_RATE_LIMIT_PER_ADDRESS: "off",
  CONTACT_REQUEST_RATE_LIMIT: "off",
  GROUP_CREATE_RATE_LIMIT: "off",
  SEND_RATE_LIMIT_PER_DEVICE: "off",
  SEND_RATE_LIMIT_PER_USER: "off",
  NEW_SESSION_RATE_LIMIT_PER_USER: "off",
  PASSWORD_HASH_QUEUE_LIMIT: "100000",
  PASSWORD_HASH_CONCURRENCY: String(availableParallelism()),
};

/**
 * The abuse limits as the harnesses start the system (in a test, the benchmarks; not
 * `npm run cluster`, which keeps the real ones): the rate limits off, because every client there comes from 127.0.0.1 and a
 * suite registers and logs in hundreds of users at once; the hashing pool as wide as the
 * machine, with a queue long enough for those bursts. The benchmarks drive devices far past a
 * person's send rate on purpose. Only for the variables `env` leaves
 * unset; a test's own env overrides them (the tests of the limits set theirs).
 */
export function testLimitsEnv(env: Record<string, string | undefined> = process.env): Record<string, string> {
  return Object.fromEntries(Object.entries(relaxed).filter(([name]) => env[name] === undefined));
}
