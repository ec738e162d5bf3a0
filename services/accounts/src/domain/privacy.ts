import { DomainError } from "@messenger/rpc/domain-error";
import type { ContactsRepository, PrivacySettings } from "../storage/contacts-repository.js";
import { defaultPrivacy } from "./default-privacy.js";
import type { PresenceAudience } from "./presence-audience.js";
import { hearsPresence, unblockedContact } from "./relations.js";

/** The field names an update mask may hold, as spelled in the PrivacySettings message. */
const maskFields: readonly string[] = ["presence_visibility", "message_requests"];

/** A user's privacy settings, always whole: defaults stand in for what was never set. */
export class Privacy {
  constructor(
    private readonly repo: ContactsRepository,
    private readonly presence: PresenceAudience,
  ) {}

  async get(me: string): Promise<PrivacySettings> {
    return (await this.repo.privacy(me)) ?? defaultPrivacy;
  }

  /**
   * Sets the fields named in `mask` (every field when it is empty) to their value in
   * `values`. An unknown name refuses the whole update, so a typo never passes for a no-op.
   */
  async update(me: string, values: PrivacySettings, mask: readonly string[]): Promise<PrivacySettings> {
    const unknown = mask.filter((name) => !maskFields.includes(name));
    if (unknown.length > 0) {
      throw new DomainError("invalid_argument", `unknown update_mask field ${unknown.join(", ")}; expected ${maskFields.join(" or ")}`);
    }
    const named = (field: string): boolean => mask.length === 0 || mask.includes(field);
    const change: Partial<PrivacySettings> = {
      ...(named("presence_visibility") ? { presenceVisibility: values.presenceVisibility } : {}),
      ...(named("message_requests") ? { messageRequests: values.messageRequests } : {}),
    };
    // Before and after come from the write's own transaction: read apart, two concurrent
    // moves to NOBODY would both see the old setting and tell presence twice.
    const { before, after } = await this.repo.updatePrivacy(me, change, defaultPrivacy);
    // Only the user's unblocked contacts can hear the user (hearsPresence), and the setting
    // decides for all of them alike: a move to or from NOBODY flips them all, nothing else
    // flips any.
    const heardBefore = hearsPresence(unblockedContact, before.presenceVisibility);
    const heardAfter = hearsPresence(unblockedContact, after.presenceVisibility);
    if (heardBefore !== heardAfter) {
      const contacts = await this.repo.unblockedContacts(me);
      if (contacts.length > 0) await this.presence.changed(me, heardAfter ? contacts : [], heardAfter ? [] : contacts);
    }
    return after;
  }
}
