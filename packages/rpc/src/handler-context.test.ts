import { Code, ConnectError } from "@connectrpc/connect";
import { GatewayService } from "@messenger/proto/gateway/v1/gateway_service";
import { describe, expect, it } from "vitest";
import { CallContext, type CallContextInit } from "./handler-context.js";

const base: Omit<CallContextInit, "requestHeader"> = { service: GatewayService, method: GatewayService.method.session, protocolName: "test" };

describe("CallContext", () => {
  it("reads the request headers from the call only when asked", () => {
    let reads = 0;
    const ctx = new CallContext({ ...base, requestHeader: () => (reads++, [["authorization", "Bearer t"]]) });
    expect(reads).toBe(0);
    expect(ctx.requestHeader.get("authorization")).toBe("Bearer t");
    expect(ctx.requestHeader.get("authorization")).toBe("Bearer t");
    expect(reads).toBe(1);
    expect(ctx.url).toBe("/messenger.gateway.v1.GatewayService/Session");
  });

  it("gives a signal aborted with the reason of an abort that came before or after it was made", () => {
    const before = new CallContext({ ...base, requestHeader: () => undefined });
    const reason = new ConnectError("done", Code.Canceled);
    before.abort(reason);
    expect(before.signal.aborted).toBe(true);
    expect(before.signal.reason).toBe(reason);
    const after = new CallContext({ ...base, requestHeader: () => undefined });
    const signal = after.signal;
    after.abort(reason);
    after.abort(new Error("second"));
    expect(signal.reason).toBe(reason);
  });

  it("follows the caller's signal, and stops listening to it once the call is over", () => {
    const parent = new AbortController();
    const ctx = new CallContext({ ...base, requestHeader: () => undefined, requestSignal: parent.signal });
    const signal = ctx.signal;
    parent.abort(new Error("caller gave up"));
    expect((signal.reason as Error).message).toBe("caller gave up");
    const parent2 = new AbortController();
    const done = new CallContext({ ...base, requestHeader: () => undefined, requestSignal: parent2.signal });
    void done.signal;
    done.abort(new Error("completed"));
    parent2.abort(new Error("later"));
    expect((done.signal.reason as Error).message).toBe("completed");
  });

  it("aborts with DEADLINE_EXCEEDED when its timeout passes", async () => {
    const ctx = new CallContext({ ...base, requestHeader: () => undefined, timeoutMs: 20 });
    expect(ctx.timeoutMs()).toBeLessThanOrEqual(20);
    const reason = await new Promise((resolve) => ctx.signal.addEventListener("abort", () => resolve(ctx.signal.reason)));
    expect(ConnectError.from(reason).code).toBe(Code.DeadlineExceeded);
  });

  it("makes response headers and trailers only when the handler sets them", () => {
    const ctx = new CallContext({ ...base, requestHeader: () => undefined });
    expect(ctx.responseHeaderIfAny).toBeUndefined();
    ctx.responseTrailer.set("x-a", "1");
    expect(ctx.responseTrailerIfAny?.get("x-a")).toBe("1");
  });

  it("tells its abort listener once, also when it was aborted before the listener came, and not after it left", () => {
    const reasons: unknown[] = [];
    const ctx = new CallContext({ ...base, requestHeader: () => undefined });
    ctx.onAbort((r) => reasons.push(r));
    ctx.abort("first");
    ctx.abort("second");
    expect(reasons).toEqual(["first"]);
    const late = new CallContext({ ...base, requestHeader: () => undefined });
    late.abort("early");
    late.onAbort((r) => reasons.push(r));
    expect(reasons).toEqual(["first", "early"]);
    const gone = new CallContext({ ...base, requestHeader: () => undefined });
    gone.onAbort((r) => reasons.push(r));
    gone.onAbort(undefined);
    gone.abort("unheard");
    expect(reasons).toEqual(["first", "early"]);
  });

  it("tells its abort listener about the caller's abort and the deadline, also without a signal", async () => {
    const parent = new AbortController();
    const heard: unknown[] = [];
    new CallContext({ ...base, requestHeader: () => undefined, requestSignal: parent.signal }).onAbort((r) => heard.push(r));
    parent.abort("caller");
    const gone = new AbortController();
    gone.abort("already");
    new CallContext({ ...base, requestHeader: () => undefined, requestSignal: gone.signal }).onAbort((r) => heard.push(r));
    expect(heard).toEqual(["caller", "already"]);
    const timed = new CallContext({ ...base, requestHeader: () => undefined, timeoutMs: 10 });
    const reason = await new Promise((resolve) => timed.onAbort(resolve));
    expect(ConnectError.from(reason).code).toBe(Code.DeadlineExceeded);
  });
});
