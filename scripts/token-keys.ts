// Manages the access-token signing key set that every accounts replica mounts (a Kubernetes
// Secret, TOKEN_SIGNING_KEYS_FILE): `rotate` puts a new key first (it signs from the next
// start of each replica) and keeps the previous one published so tokens it signed still
// verify; `show` prints the kids. Rotate again only once ACCESS_TOKEN_TTL_SECONDS has passed
// since the last rotation reached every replica. FILE keeps its format: a private JWKS, or
// concatenated PEM Ed25519 private keys (PKCS#8, as a Helm chart's genPrivateKey "ed25519"
// writes; their kids are the keys' RFC 7638 thumbprints). A missing FILE is made as PEM when
// its name ends in .pem, else as a JWKS.
//
//   npm run token-keys -- rotate FILE [--keep 2]
//   npm run token-keys -- show FILE
import { parseArgs } from "node:util";
import { readSigningKeys, rotateSigningKeys } from "@messenger/auth";

const { positionals, values } = parseArgs({ allowPositionals: true, options: { keep: { type: "string", default: "2" } } });
const [command, file] = positionals;
try {
  if (!file || (command !== "rotate" && command !== "show")) throw new Error("usage: npm run token-keys -- rotate FILE [--keep N] | show FILE");
  const keep = Number(values.keep);
  if (!Number.isInteger(keep) || keep < 1) throw new Error("--keep takes a whole number of keys, at least 1");
  const set = command === "rotate" ? await rotateSigningKeys(file, keep) : readSigningKeys(file);
  set.keys.forEach((k, i) => console.log(`${i === 0 ? "signs    " : "published"} ${k.kid}`));
} catch (err) {
  console.error(`token-keys: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
