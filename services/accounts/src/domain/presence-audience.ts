/**
 * Presence, told when who may see a user's presence changed, so viewers' screens follow at
 * once: the user's state to those who gained sight of it, "hidden" to those who lost it.
 */
export interface PresenceAudience {
  /** Never throws: presence is advisory, and a viewer who missed it sees right on GetPresence. */
  changed(userId: string, gained: readonly string[], lost: readonly string[]): Promise<void>;
}

/** Tells presence of every direction whose sight flipped between `before` and `after`. */
export async function tellSightChanges(
  presence: PresenceAudience,
  a: string,
  b: string,
  before: { readonly aSeesB: boolean; readonly bSeesA: boolean },
  after: { readonly aSeesB: boolean; readonly bSeesA: boolean },
): Promise<void> {
  const tell = (user: string, viewer: string, was: boolean, now: boolean): Promise<void> =>
    was === now ? Promise.resolve() : presence.changed(user, now ? [viewer] : [], now ? [] : [viewer]);
  await Promise.all([tell(b, a, before.aSeesB, after.aSeesB), tell(a, b, before.bSeesA, after.bSeesA)]);
}
