/** A stored account. */
export interface AccountRecord {
  readonly id: string;
  readonly username: string;
  readonly displayName: string;
  readonly passwordHash: string;
  readonly createdAt: number;
}

/** A stored refresh token (only its hash is kept). */
export interface RefreshTokenRecord {
  readonly tokenHash: string;
  readonly userId: string;
  readonly deviceId: string;
  readonly expiresAt: number;
}

/** The accounts store port. */
export interface AccountRepository {
  /** Returns false when the username is taken. */
  insertUser(user: AccountRecord): Promise<boolean>;
  userByName(username: string): Promise<AccountRecord | undefined>;
  usersById(ids: readonly string[]): Promise<AccountRecord[]>;
  putRefreshToken(record: RefreshTokenRecord): Promise<void>;
  /** Removes and returns the token, so that each refresh token is used at most once. */
  takeRefreshToken(tokenHash: string): Promise<RefreshTokenRecord | undefined>;
  close(): Promise<void>;
}
