import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { createLogger } from "@messenger/logging";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { describe, expect, it } from "vitest";
import { DomainError } from "./domain-error.js";
import { instrumentRoute } from "./errors.js";
import { route } from "./service-routes.js";

const log = createLogger("wire-errors-test", "silent");

/** A client of a route whose every method throws `thrown`. */
function throwing(thrown: unknown) {
  const fail = (): never => {
    throw thrown;
  };
  const r = instrumentRoute(route(AccountsService, { register: fail, login: fail, refresh: fail, lookupUser: fail, getUsers: fail, logout: fail }, "public"), log);
  return createClient(AccountsService, createRouterTransport((t) => t.service(r.service, r.impl)));
}

async function failure(thrown: unknown): Promise<{ code: string; message: string }> {
  const err = await throwing(thrown).lookupUser({ username: "x" }).then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );
  if (!err) throw new Error("expected a failure");
  return { code: Code[err.code], message: err.rawMessage };
}

describe("errors that cross the wire", () => {
  it("tell callers a stable message for a failure of the system, never a peer's address or a stack", async () => {
    expect(await failure(new ConnectError("connect ECONNREFUSED 10.0.0.3:7001", Code.Unavailable))).toEqual({
      code: "Unavailable",
      message: "the service is unavailable; try again",
    });
    expect(await failure(new ConnectError("SqliteError: disk I/O error at /var/lib/x.db", Code.Internal))).toEqual({ code: "Internal", message: "internal error" });
    expect(await failure(new Error("TypeError: cannot read properties of undefined"))).toEqual({ code: "Internal", message: "internal error" });
  });

  it("keep the message of a refusal of the request, ours or a peer's", async () => {
    expect(await failure(new ConnectError("at most 500 user ids", Code.InvalidArgument))).toEqual({ code: "InvalidArgument", message: "at most 500 user ids" });
    expect(await failure(new DomainError("not_found", "user x not found"))).toEqual({ code: "NotFound", message: "user x not found" });
  });
});

describe("a stream frame Connect cannot decode", () => {
  it("is the caller's mistake: INVALID_ARGUMENT with what was wrong, not an internal error", async () => {
    expect(await failure(new ConnectError("parse binary: premature EOF", Code.Internal))).toEqual({
      code: "InvalidArgument",
      message: "malformed request frame (premature EOF)",
    });
  });
});
