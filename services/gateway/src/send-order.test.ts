import { describe, expect, it } from "vitest";
import { SendOrder } from "./send-order.js";

describe("SendOrder", () => {
  it("admits everything while nothing failed", () => {
    const o = new SendOrder(10);
    expect(o.admit("a")).toBeUndefined();
    expect(o.admit("b")).toBeUndefined();
  });

  it("after a failure, refuses later sends until they come back in the original order", () => {
    const o = new SendOrder(10);
    o.failed(["a"]);
    expect(o.admit("b")).toBe("a");
    expect(o.admit("c")).toBe("a");
    expect(o.admit("c")).toBe("a");
    expect(o.admit("a")).toBeUndefined();
    expect(o.admit("c")).toBe("b");
    expect(o.admit("b")).toBeUndefined();
    expect(o.admit("c")).toBeUndefined();
    expect(o.admit("d")).toBeUndefined();
  });

  it("puts a send that fails again back at the head", () => {
    const o = new SendOrder(10);
    o.failed(["a"]);
    expect(o.admit("b")).toBe("a");
    expect(o.admit("a")).toBeUndefined();
    o.failed(["a"]);
    expect(o.admit("b")).toBe("a");
  });

  it("remembers at most its limit, and says when a send refused past it could not be remembered", () => {
    const o = new SendOrder(2);
    o.failed(["a"]);
    expect(o.admit("b")).toBe("a");
    expect(o.admit("b")).toBe("a");
    expect(o.saturated).toBe(false);
    expect(o.admit("c")).toBe("a");
    expect(o.admit("d")).toBe("a");
    expect(o.size).toBe(2);
    expect(o.saturated).toBe(true);
    expect(o.admit("a")).toBeUndefined();
    expect(o.admit("d")).toBe("b");
    expect(o.admit("b")).toBeUndefined();
    expect(o.admit("d")).toBeUndefined();
    expect(o.admit("c")).toBeUndefined();
    expect(o.size).toBe(0);
  });

  it("puts a failed batch back at the head in its order, ahead of the sends that came after it", () => {
    const o = new SendOrder(10);
    o.failed(["a"]);
    for (const id of ["b", "c", "d"]) expect(o.admit(id)).toBe("a");
    // a, b and c go again as one batch: b fails, c was behind it.
    expect([o.admit("a"), o.admit("b"), o.admit("c")]).toEqual([undefined, undefined, undefined]);
    o.failed(["b", "c"]);
    expect(o.admit("d")).toBe("b");
    expect([o.admit("b"), o.admit("d"), o.admit("c"), o.admit("d")]).toEqual([undefined, "c", undefined, undefined]);
  });

  it("puts a failed send back at the head even when a copy of it waits further back", () => {
    const o = new SendOrder(10);
    o.failed(["a"]);
    expect(o.admit("b")).toBe("a");
    expect(o.admit("a")).toBeUndefined();
    // A second copy of a, sent while the first is with the router, waits behind b.
    expect(o.admit("a")).toBe("b");
    o.failed(["a"]);
    expect(o.admit("b")).toBe("a");
    expect(o.admit("a")).toBeUndefined();
    expect(o.admit("b")).toBeUndefined();
  });

  it("drops a waiting copy of a send once it is stored, so it does not hold the others back", () => {
    const o = new SendOrder(10);
    o.failed(["a"]);
    expect(o.admit("b")).toBe("a");
    expect(o.admit("a")).toBeUndefined();
    expect(o.admit("a")).toBe("b");
    expect(o.admit("b")).toBeUndefined();
    o.settled("a");
    expect(o.size).toBe(0);
    expect(o.admit("c")).toBeUndefined();
  });

  it("lets the queue go when the client has not repeated its head for the hold time", () => {
    let now = 0;
    const o = new SendOrder(10, 1_000, () => now);
    o.failed(["a"]);
    expect(o.admit("b")).toBe("a");
    now = 900;
    expect(o.admit("c")).toBe("a");
    now = 1_001;
    expect(o.admit("c")).toBeUndefined();
    expect(o.size).toBe(0);
    // A repeat of the head restarts the hold for the next one.
    o.failed(["x"]);
    expect(o.admit("y")).toBe("x");
    now = 1_900;
    expect(o.admit("x")).toBeUndefined();
    now = 2_500;
    expect(o.admit("z")).toBe("y");
  });
});
