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
export { hashPassword, verifyPassword } from "./password.js";
