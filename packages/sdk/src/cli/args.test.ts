import { describe, expect, it } from "vitest";
import { UsageError, defaultUrl, parseCommand, usage } from "./args.js";

describe("parseCommand", () => {
  it("parses register and chat, with --url over MESSENGER_URL over the default", () => {
    expect(parseCommand(["register", "alice"], {})).toEqual({ kind: "register", username: "alice", urls: [defaultUrl] });
    expect(parseCommand(["chat", "alice", "bob"], { MESSENGER_URL: "http://h:1" }, "my host!")).toEqual({
      kind: "chat",
      username: "alice",
      peer: "bob",
      urls: ["http://h:1"],
      deviceId: "cli-my-host-",
    });
    expect(parseCommand(["chat", "--url", "https://x:2/", "alice", "bob", "--device", "d1"], { MESSENGER_URL: "http://h:1" })).toMatchObject({
      urls: ["https://x:2"],
      deviceId: "d1",
    });
    expect(parseCommand(["--help"], {})).toEqual({ kind: "help" });
  });

  it("takes several gateways: a comma-separated list, repeated --url, or MESSENGER_URL with commas", () => {
    expect(parseCommand(["chat", "a", "b", "--url", "http://g1:1,http://g2:2/"], {})).toMatchObject({ urls: ["http://g1:1", "http://g2:2"] });
    expect(parseCommand(["chat", "a", "b", "--url", "http://g1:1", "--url", "http://g2:2", "--url", "http://g1:1"], {})).toMatchObject({ urls: ["http://g1:1", "http://g2:2"] });
    expect(parseCommand(["register", "a"], { MESSENGER_URL: "http://g1:1, http://g2:2" })).toMatchObject({ urls: ["http://g1:1", "http://g2:2"] });
    for (const bad of [",", "http://g1:1,ftp://g2:2", "http://g1:1,not a url"]) expect(() => parseCommand(["chat", "a", "b", "--url", bad], {}), bad).toThrow(UsageError);
  });

  it("enters a group with chat --group or open, by id or title", () => {
    expect(parseCommand(["chat", "alice", "--group", "Weekend trip"], {}, "h")).toEqual({
      kind: "open",
      username: "alice",
      group: "Weekend trip",
      urls: [defaultUrl],
      deviceId: "cli-h",
    });
    expect(parseCommand(["open", "alice", "g_123", "--device", "phone"], {}, "h")).toEqual({
      kind: "open",
      username: "alice",
      group: "g_123",
      urls: [defaultUrl],
      deviceId: "phone",
    });
  });

  it("creates a group with a title and any number of members, each once", () => {
    expect(parseCommand(["group", "alice", "Weekend trip", "bob", "carol", "bob"], {}, "h")).toEqual({
      kind: "group",
      username: "alice",
      title: "Weekend trip",
      members: ["bob", "carol"],
      urls: [defaultUrl],
      deviceId: "cli-h",
    });
    expect(parseCommand(["group", "alice", "Solo"], {}, "h")).toMatchObject({ kind: "group", title: "Solo", members: [] });
  });

  it("refuses malformed command lines with a UsageError", () => {
    const bad = [
      [],
      ["frob"],
      ["chat", "alice"],
      ["chat", "alice", "alice"],
      ["register", "a", "b"],
      ["register", "a", "--device", "d"],
      ["register", "a", "--group", "g"],
      ["chat", "a", "b", "--url", "ftp://x"],
      ["chat", "a", "b", "--nope"],
      ["chat", "a", "b", "--device", ""],
      ["chat", "a", "b", "--group", "g"],
      ["chat", "a", "--group", " "],
      ["open", "a"],
      ["open", "a", "g", "h"],
      ["open", "a", "g", "--group", "g"],
      ["group", "a"],
      ["group", "a", ""],
      ["group", "a", "  "],
      ["group", "a", "T", ""],
      ["group", "a", "T", "a"],
      ["group", "a", "T", "--group", "g"],
    ];
    for (const args of bad) expect(() => parseCommand(args, {}), args.join(" ")).toThrow(UsageError);
  });

  it("documents every command and the group slash commands in the usage text", () => {
    for (const s of ["register <username>", "chat <username> <peer-username>", "chat <username> --group <group>", "open <username> <group>", "group <username> <title> [member…]"]) {
      expect(usage).toContain(s);
    }
    for (const c of ["/invite", "/kick", "/leave", "/members", "/admin", "/title", "/readby", "/inbox", "/open", "/image PATH", "/file PATH", "/save N", "/retention 1h"]) expect(usage).toContain(c);
    expect(usage).toContain("16384 characters");
    expect(usage).not.toContain("/add");
  });
});
