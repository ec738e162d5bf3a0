/**
 * How the state of my messages shows: `✓` after my message once the server stored it (sent),
 * `✓✓` delivered (a device of the recipient got it), `✔✔` read (heavy checks, in blue where
 * the terminal shows colours). Each glyph differs, so plain text keeps them apart too.
 */
export interface Marks {
  readonly sent: string;
  readonly delivered: string;
  readonly read: string;
}

export const plainMarks: Marks = { sent: "✓", delivered: "✓✓", read: "✔✔" };

const blue = (s: string): string => `\x1b[34m${s}\x1b[39m`;

/** The marks for a terminal, coloured when it shows colours. */
export function marksFor(colors: boolean): Marks {
  return colors ? { ...plainMarks, read: blue(plainMarks.read) } : plainMarks;
}
