/**
 * Pure grammar of `/pgbackup` (spec/behaviour.md). Never throws: anything it can not read
 * becomes `{ kind: 'invalid' }` with a sentence saying what was wrong.
 */

import { checkInstance, INSTANCE, shown, type BackupRef, type ParseContext } from '../../domain/commands';

export { checkInstance, type BackupRef, type ParseContext };

export type Command =
  | { kind: 'help' }
  | { kind: 'now'; instance: string }
  | { kind: 'list'; instance: string }
  /** `status` alone: the overview of every watched or allowed instance (as the Home tab shows). */
  | { kind: 'overview' }
  | { kind: 'restore'; backup: BackupRef; instance: string; reason: string }
  | { kind: 'invalid'; problem: string };

const BACKUP_ID = /^\d{1,15}$/;
/** backup_id strings look like `<instance>-<epoch ms>`, e.g. a9s-pg-1542859215559. */
const BACKUP_NAME = /^([A-Za-z0-9][A-Za-z0-9._-]{0,150})-(\d{10,16})$/;
const MAX_REASON = 500;

/**
 * After `restore <backup>`, is the next word an instance or the start of the reason? It is an
 * instance when it is listed or the default, or when it looks like an instance name (has a
 * digit or a hyphen), not a plain word. An unlisted name is then refused rather than read as
 * a reason: a restore must never silently fall back to the default instance.
 */
function looksLikeInstance(word: string, ctx: ParseContext): boolean {
  if (ctx.allowedInstances.includes(word) || word === ctx.defaultInstance) return true;
  return INSTANCE.test(word) && /[-\d]/.test(word);
}

export function parseCommand(text: string, ctx: ParseContext): Command {
  const words = text
    .normalize('NFKC')
    .split(/\s+/u)
    .filter((w) => w.length > 0);
  const [verb, ...rest] = words;
  if (verb === undefined) return { kind: 'help' };
  const sub = verb.toLowerCase();

  if (sub === 'help') return { kind: 'help' };

  if (sub === 'status' && rest.length === 0) return { kind: 'overview' };
  if (sub === 'now' || sub === 'list' || sub === 'status') {
    if (rest.length > 1) return { kind: 'invalid', problem: `\`${sub}\` takes at most one instance name.` };
    const instance = rest[0] ?? ctx.defaultInstance;
    const problem = checkInstance(instance, ctx);
    if (problem) return { kind: 'invalid', problem };
    return sub === 'now' ? { kind: 'now', instance } : { kind: 'list', instance };
  }

  if (sub === 'restore') {
    const [ref, ...tail] = rest;
    if (ref === undefined) return { kind: 'invalid', problem: '`restore` needs the backup to restore: its id (`148`) or name (`a9s-pg-1542859215559`).' };
    let backup: BackupRef;
    let impliedInstance: string | undefined;
    const named = BACKUP_NAME.exec(ref);
    if (BACKUP_ID.test(ref)) backup = { kind: 'id', id: Number(ref) };
    else if (named) {
      backup = { kind: 'name', name: ref };
      impliedInstance = named[1];
    } else {
      return { kind: 'invalid', problem: `${shown(ref)} is not a backup id (a number like 148) or a backup name (like a9s-pg-1542859215559).` };
    }
    let instance = impliedInstance ?? ctx.defaultInstance;
    let reasonWords = tail;
    const next = tail[0];
    if (next !== undefined && looksLikeInstance(next, ctx)) {
      instance = next;
      reasonWords = tail.slice(1);
    }
    const problem = checkInstance(instance, ctx);
    if (problem) return { kind: 'invalid', problem };
    const reason = reasonWords.join(' ');
    if (reason.length > MAX_REASON) return { kind: 'invalid', problem: `The reason is too long (${reason.length} characters; at most ${MAX_REASON}).` };
    return { kind: 'restore', backup, instance, reason };
  }

  return { kind: 'invalid', problem: `Unknown subcommand ${shown(verb)}.` };
}
