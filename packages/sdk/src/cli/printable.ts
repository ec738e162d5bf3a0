/**
 * Text from other users with control characters made visible, so a message cannot move the
 * cursor, clear the screen or retitle the terminal with escape sequences.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).replace(/\n/g, "\n    ");
}
