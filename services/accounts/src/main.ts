import { join } from "node:path";
import { createTokenIssuer, createTokenVerifier } from "@messenger/auth";
import { parseEnv, positiveInt, serviceEnv, z } from "@messenger/config";
import { runService } from "@messenger/rpc";
import { createAccountsApp } from "./app.js";
import { openSqliteAccountRepository } from "./storage/sqlite-account-repository.js";

const env = z.object({
  ...serviceEnv,
  DATA_DIR: z.string().min(1).default("./data/accounts"),
  ACCESS_TOKEN_TTL_SECONDS: positiveInt(900),
  REFRESH_TOKEN_TTL_SECONDS: positiveInt(30 * 24 * 3600),
  SCRYPT_LOG_N: z.coerce.number().int().min(10).max(20).default(17),
});

await runService("accounts", () => parseEnv(env), async (config) => {
  const issuer = await createTokenIssuer({ keyPath: join(config.DATA_DIR, "token-signing.jwk.json"), ttlSeconds: config.ACCESS_TOKEN_TTL_SECONDS });
  const app = createAccountsApp({
    repo: openSqliteAccountRepository(join(config.DATA_DIR, "accounts.db")),
    issuer,
    verifier: createTokenVerifier({ jwks: issuer.jwks() }),
    settings: { scryptLogN: config.SCRYPT_LOG_N, refreshTokenTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS },
  });
  return {
    routes: app.routes,
    extraHttpRoutes: {
      "/.well-known/jwks.json": (_req, res) => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify(issuer.jwks()));
      },
    },
    close: () => app.close(),
  };
});
