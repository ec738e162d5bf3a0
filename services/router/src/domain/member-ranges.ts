/** A user was a member from fromSeq to toSeq, both inclusive; toSeq 0 while still a member. */
export interface MemberRange {
  readonly userId: string;
  readonly fromSeq: number;
  readonly toSeq: number;
}

/** A conversation's membership history at one membership version. */
export interface Membership {
  readonly version: number;
  readonly memberCount: number;
  readonly ranges: readonly MemberRange[];
  /** A direct conversation one of whose users blocks the other (not versioned: as read). */
  readonly blocked: boolean;
}

/**
 * The users who may see the message at `seq`: those with a range covering it. Ranges of
 * past seqs never change (a change only opens a range at, or closes one at, its own new
 * seq), so any membership version at or after the message's gives the same answer.
 */
export function membersAt(m: Membership, seq: number): string[] {
  const users = new Set<string>();
  for (const r of m.ranges) if (r.fromSeq <= seq && (r.toSeq === 0 || seq <= r.toSeq)) users.add(r.userId);
  return [...users];
}

/** The current members. */
export function currentMembers(m: Membership): string[] {
  const users = new Set<string>();
  for (const r of m.ranges) if (r.toSeq === 0) users.add(r.userId);
  return [...users];
}
