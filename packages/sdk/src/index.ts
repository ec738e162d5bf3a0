export {
  MessengerClient,
  type ClientFootprint,
  type MembersPage,
  type MessengerClientOptions,
  type MessengerEvents,
  type OutgoingBody,
  type ReadByPage,
  type ReceiptSummaryUpdate,
  type ResumeState,
  type SendOptions,
} from "./client.js";
export { ConversationOrder, type HistoryPage } from "./conversation-order.js";
export { backoffDelay, resendDelay } from "./backoff.js";
export { ContactsApi, type Page, type Privacy } from "./contacts.js";
export { NotificationsApi, type Mute, type NotificationSettings, type WebPushSubscriptionJson } from "./notifications.js";
export { MediaApi, guessMimeType, type DownloadLink, type OutgoingFile, type UploadProgress } from "./media.js";
