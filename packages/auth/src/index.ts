export {
  authenticate,
  bearerToken,
  createTokenIssuer,
  createTokenVerifier,
  defaultAudience,
  defaultIssuer,
  type AccessClaims,
  type IssuedToken,
  type TokenIssuer,
  type TokenVerifier,
} from "./tokens.js";
export { PasswordHasher, defaultHashQueueLimit, defaultHashThreads, type PasswordHasherOptions } from "./password.js";
export { HashQueueFullError, type ScryptPoolObserver } from "./scrypt-pool.js";
export { addSigningKey, promoteSigningKey, readSigningKeys, rotateSigningKeys, SigningKeyError, type SigningKeySet } from "./signing-keys.js";
