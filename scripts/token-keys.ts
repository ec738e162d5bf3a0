// Manages the access-token signing key set that every accounts replica mounts (a Kubernetes
// Secret, TOKEN_SIGNING_KEYS_FILE). Across several replicas, rotate in two phases, each rolled
// out to every replica before the next: `add` appends a new key that is published but does not
// sign (so every JWKS knows it before any token carries its kid), then `promote` makes it sign
// and keeps the previous key published so tokens it signed still verify. `rotate` does both in
// one step, for a single replica. `show` prints the kids and which key signs. Promote (or
// rotate) again only once ACCESS_TOKEN_TTL_SECONDS has passed since the last one reached every
// replica. FILE keeps its format: a private JWKS, or concatenated PEM Ed25519 private keys
// (PKCS#8, as a Helm chart's genPrivateKey "ed25519" writes; their kids are the keys' RFC 7638
// thumbprints). `rotate` makes a missing FILE, as PEM when its name ends in .pem, else as a JWKS.
//
//   npm run token-keys -- add FILE
//   npm run token-keys -- promote FILE [--keep 2]
//   npm run token-keys -- rotate FILE [--keep 2]
//   npm run token-keys -- show FILE
import { parseArgs } from "node:util";
import { addSigningKey, promoteSigningKey, readSigningKeys, rotateSigningKeys, type SigningKeySet } from "@messenger/auth";

const usage = "usage: npm run token-keys -- add FILE | promote FILE [--keep N] | rotate FILE [--keep N] | show FILE";
const { positionals, values } = parseArgs({ allowPositionals: true, options: { keep: { type: "string", default: "2" } } });
const [command, file] = positionals;
try {
  if (!file || positionals.length > 2) throw new Error(usage);
  const keep = Number(values.keep);
  if (!Number.isInteger(keep) || keep < 1) throw new Error("--keep takes a whole number of keys, at least 1");
  const commands = new Map<string | undefined, () => Promise<SigningKeySet> | SigningKeySet>([
    ["add", () => addSigningKey(file)],
    ["promote", () => promoteSigningKey(file, keep)],
    ["rotate", () => rotateSigningKeys(file, keep)],
    ["show", () => readSigningKeys(file)],
  ]);
  const run = commands.get(command);
  if (!run) throw new Error(usage);
  const set = await run();
  for (const [i, k] of set.keys.entries()) {
    console.log(i === 0 ? `signs     ${k.kid}` : k.kid === set.pending ? `published ${k.kid} (added: signs once promoted)` : `published ${k.kid}`);
  }
} catch (err) {
  console.error(`token-keys: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
