export type { PushDevice, PushNotification, PushProvider, PushRegistration, PushTargets, SendOutcome } from "./domain/push-ports.js";
