import { expect } from "vitest";
import { GroupError, type GroupErrorReason } from "./group-error.js";

/** Asserts that `fn` throws a GroupError with `reason` (and a message matching `message` when given). */
export function expectRefusal(fn: () => unknown, reason: GroupErrorReason, message?: RegExp): void {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, "expected a refusal").toBeInstanceOf(GroupError);
  expect((thrown as GroupError).reason).toBe(reason);
  if (message) expect((thrown as GroupError).message).toMatch(message);
}
