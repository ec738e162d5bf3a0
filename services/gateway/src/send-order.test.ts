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
    o.failed("a");
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
    o.failed("a");
    expect(o.admit("b")).toBe("a");
    expect(o.admit("a")).toBeUndefined();
    o.failed("a");
    expect(o.admit("b")).toBe("a");
  });

  it("reports overflow past its limit", () => {
    const o = new SendOrder(2);
    o.failed("a");
    o.admit("b");
    expect(o.overflowing).toBe(false);
    o.admit("c");
    expect(o.overflowing).toBe(true);
  });
});
