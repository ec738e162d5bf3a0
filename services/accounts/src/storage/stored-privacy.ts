import type { MessageRequestPolicy, PresenceVisibility, PrivacySettings } from "./contacts-repository.js";

const presenceValues: readonly PresenceVisibility[] = ["everyone", "contacts", "nobody"];
const policyValues: readonly MessageRequestPolicy[] = ["requests", "inbox"];

/**
 * Stored privacy values, checked rather than cast (the store may outlive this code): both
 * known, or undefined, which stands for the defaults.
 */
export function privacyOf(presence: string | null | undefined, policy: string | null | undefined): PrivacySettings | undefined {
  const p = presenceValues.find((v) => v === presence);
  const m = policyValues.find((v) => v === policy);
  return p && m ? { presenceVisibility: p, messageRequests: m } : undefined;
}
