import type { PrivacySettings } from "../storage/contacts-repository.js";

/** The settings of a user who never changed them. */
export const defaultPrivacy: PrivacySettings = { presenceVisibility: "contacts", messageRequests: "requests" };
