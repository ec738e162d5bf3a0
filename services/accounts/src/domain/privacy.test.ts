import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { idOf, openContactsFixture, refusal, type ContactsFixture } from "./contacts-fixture.js";

const ann = idOf("ann");

let f: ContactsFixture;
beforeEach(async () => {
  f = await openContactsFixture();
  await f.addUsers("ann");
});
afterEach(() => f.close());

describe("privacy settings", () => {
  it("are the defaults until changed: presence to contacts, non-contacts in message requests", async () => {
    expect(await f.privacy.get(ann)).toEqual({ presenceVisibility: "contacts", messageRequests: "requests" });
  });

  it("change every field when the mask is empty", async () => {
    expect(await f.privacy.update(ann, { presenceVisibility: "nobody", messageRequests: "inbox" }, [])).toEqual({ presenceVisibility: "nobody", messageRequests: "inbox" });
    expect(await f.privacy.get(ann)).toEqual({ presenceVisibility: "nobody", messageRequests: "inbox" });
  });

  it("change only the fields the mask names", async () => {
    await f.privacy.update(ann, { presenceVisibility: "everyone", messageRequests: "inbox" }, ["presence_visibility"]);
    expect(await f.privacy.get(ann)).toEqual({ presenceVisibility: "everyone", messageRequests: "requests" });
    await f.privacy.update(ann, { presenceVisibility: "nobody", messageRequests: "inbox" }, ["message_requests"]);
    expect(await f.privacy.get(ann)).toEqual({ presenceVisibility: "everyone", messageRequests: "inbox" });
  });

  it("refuse an unknown mask name with INVALID_ARGUMENT and change nothing", async () => {
    expect(await refusal(f.privacy.update(ann, { presenceVisibility: "nobody", messageRequests: "inbox" }, ["presence_visibility", "last_seen"]))).toBe("invalid_argument");
    expect(await refusal(f.privacy.update(ann, { presenceVisibility: "nobody", messageRequests: "inbox" }, ["presenceVisibility"]))).toBe("invalid_argument");
    expect(await f.privacy.get(ann)).toEqual({ presenceVisibility: "contacts", messageRequests: "requests" });
  });

  it("keep both of two concurrent changes of different fields", async () => {
    await Promise.all([
      f.privacy.update(ann, { presenceVisibility: "nobody", messageRequests: "requests" }, ["presence_visibility"]),
      f.privacy.update(ann, { presenceVisibility: "contacts", messageRequests: "inbox" }, ["message_requests"]),
    ]);
    expect(await f.privacy.get(ann)).toEqual({ presenceVisibility: "nobody", messageRequests: "inbox" });
  });
});

describe("privacy moves tell presence", () => {
  it("once, when two moves to NOBODY run at the same time", async () => {
    const bob = idOf("bob");
    await f.addUsers("bob");
    await f.contacts.sendRequest(ann, bob);
    await f.contacts.accept(bob, ann);
    f.presence.told.length = 0;
    const toNobody = () => f.privacy.update(ann, { presenceVisibility: "nobody", messageRequests: "requests" }, ["presence_visibility"]);
    await Promise.all([toNobody(), toNobody()]);
    expect(f.presence.told).toEqual([`${ann}: -${bob}`]);
  });
});
