/**
 * Who gets an offline notification for a message: every recipient with no live session,
 * except its author (whose own sends need no notification).
 */
export function offlineRecipients(recipients: readonly string[], isLive: (userId: string) => boolean, authorUserId: string): string[] {
  return recipients.filter((u) => u !== authorUserId && !isLive(u));
}
