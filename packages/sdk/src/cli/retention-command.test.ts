import { create } from "@bufbuild/protobuf";
import { ConversationSchema, RetentionMode } from "@messenger/proto/chat/v1/types";
import { describe, expect, it } from "vitest";
import { describeRetention, parseRetention } from "./retention-command.js";

describe("/retention", () => {
  it("reads off, and durations in minutes, hours, days and weeks", () => {
    expect(parseRetention("off")).toEqual({ mode: "permanent" });
    expect(parseRetention("Permanent")).toEqual({ mode: "permanent" });
    expect(parseRetention("5m")).toEqual({ mode: "disappearing", ttlSeconds: 300 });
    expect(parseRetention("1h")).toEqual({ mode: "disappearing", ttlSeconds: 3600 });
    expect(parseRetention("7d")).toEqual({ mode: "disappearing", ttlSeconds: 7 * 86400 });
    expect(parseRetention("2w")).toEqual({ mode: "disappearing", ttlSeconds: 14 * 86400 });
    for (const bad of ["", "1", "1y", "-5m", "five minutes", "1.5h"]) expect(parseRetention(bad)).toBeUndefined();
  });

  it("says what the policy is", () => {
    expect(describeRetention(create(ConversationSchema, {}))).toBe("messages are kept");
    expect(describeRetention(create(ConversationSchema, { retention: { mode: RetentionMode.DISAPPEARING, ttlSeconds: 3600 } }))).toBe("messages disappear 1 hour after they are sent");
  });
});
