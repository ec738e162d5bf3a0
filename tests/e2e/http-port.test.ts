import http2 from "node:http2";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AccountsService } from "@messenger/proto/accounts/v1/accounts_service";
import { startTestSystem, type TestSystem } from "@messenger/test-system";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let sys: TestSystem;
beforeAll(async () => {
  sys = await startTestSystem();
});
afterAll(async () => {
  await sys.dispose();
});

/** A GET over cleartext HTTP/2 with prior knowledge (what `curl --http2-prior-knowledge` does). */
function h2Get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(sys.httpUrl);
    session.once("error", reject);
    const req = session.request({ ":path": path });
    let body = "";
    let status = 0;
    req.setEncoding("utf8");
    req.on("response", (headers) => (status = Number(headers[":status"])));
    req.on("data", (chunk: string) => (body += chunk));
    req.once("error", reject);
    req.on("end", () => {
      session.close();
      resolve({ status, body });
    });
    req.end();
  });
}

describe("the HTTP port speaks HTTP/1.1 and cleartext HTTP/2", () => {
  it("serves /readyz, /metrics and the JWKS over both", async () => {
    for (const path of ["/readyz", "/metrics", "/.well-known/jwks.json"]) {
      const h1 = await fetch(`${sys.httpUrl}${path}`);
      const h2 = await h2Get(path);
      expect([path, h1.status, h2.status]).toEqual([path, 200, 200]);
      if (path === "/readyz") expect([await h1.text(), h2.body]).toEqual(["ok\n", "ok\n"]);
    }
  });

  it("serves the Connect protocol over HTTP/1.1 and over h2c", async () => {
    for (const httpVersion of ["1.1", "2"] as const) {
      const accounts = createClient(AccountsService, createConnectTransport({ baseUrl: sys.httpUrl, httpVersion }));
      const username = `h${httpVersion.replace(".", "")}_${Date.now().toString(36)}`;
      const res = await accounts.register({ username, password: "correct horse battery" });
      expect(res.user?.username).toBe(username);
    }
  });
});
