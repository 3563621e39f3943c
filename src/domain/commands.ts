/** What commands and forms name: instances and backups, and the checks on a name typed by a person. */

export type BackupRef = { kind: 'id'; id: number } | { kind: 'name'; name: string };

export interface ParseContext {
  defaultInstance: string;
  /** Empty: every instance is allowed. */
  allowedInstances: readonly string[];
}

export const INSTANCE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** A word a person typed, quoted for an answer: cut to 40 characters, no markup. */
export function shown(word: string): string {
  // Cut by code points, not UTF-16 units, so an emoji is never split into a lone surrogate.
  const chars = Array.from(word);
  const w = chars.length > 40 ? `${chars.slice(0, 40).join('')}…` : word;
  return `"${w.replace(/[`<>&]/g, '')}"`;
}

export function checkInstance(word: string, ctx: ParseContext): string | undefined {
  if (!INSTANCE.test(word)) return `${shown(word)} is not a valid instance name.`;
  if (ctx.allowedInstances.length > 0 && !ctx.allowedInstances.includes(word)) {
    return `Instance ${shown(word)} is not allowed here. Allowed: ${ctx.allowedInstances.join(', ')}.`;
  }
  return undefined;
}
