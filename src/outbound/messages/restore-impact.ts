import type { ForgottenOf } from '../../domain/later-backups';
import type { LaterBackupsOf, NewerBackup } from '../../domain/restore-request';

export { laterBackupsOf } from '../../domain/later-backups';
import { code, escapeMrkdwn, LIMITS } from './format';

/**
 * What an a9s-pg restore makes the Backup Manager forget, per instance: on the card (before)
 * and in the summary (after). Every text stays within a section's limit: long lists end in
 * "…and N more", never in a cut-off line.
 */

const OWN_SHOWN = 15;
const OTHER_SHOWN = 5;
/** A section's limit, less room for the lines around the lists. */
const BUDGET = LIMITS.sectionText - 700;

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `149 \`a9s-pg-1542…\``, with the status when it is not `done` (all non-deleted backups count). */
function item(b: NewerBackup): string {
  const status = b.status && b.status !== 'done' ? ` (${escapeMrkdwn(b.status)})` : '';
  return `${b.id}${b.backupName ? ` ${code(b.backupName)}` : ''}${status}`;
}

/** One bullet per backup, at most `shown` and within `budget` characters, then "…and N more". */
export function newerBackupsList(newer: readonly NewerBackup[], shown = OWN_SHOWN, budget = BUDGET / 2): string {
  const lines: string[] = [];
  let used = 0;
  for (const b of newer.slice(0, shown)) {
    const line = `• ${item(b)}`;
    if (used + line.length + 1 > budget - 30) break;
    lines.push(line);
    used += line.length + 1;
  }
  if (newer.length > lines.length) lines.push(`…and ${newer.length - lines.length} more`);
  return lines.join('\n');
}

function inline(list: readonly NewerBackup[]): string {
  const shown = list.slice(0, OTHER_SHOWN).map(item);
  if (list.length > OTHER_SHOWN) shown.push(`…and ${list.length - OTHER_SHOWN} more`);
  return shown.join(', ');
}

/** One line about one or more instances, and how many backups it names. */
interface Row {
  text: string;
  instances: number;
  backups: number;
}

/** Adds lines while they fit the budget; the rest becomes one "…and N more instances" line. */
function fitted(lines: readonly Row[], budget: number): string[] {
  const out: string[] = [];
  let used = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as Row;
    if (used + line.text.length + 1 > budget - 80) {
      const rest = lines.slice(i);
      const backups = rest.reduce((n, l) => n + l.backups, 0);
      const instances = rest.reduce((n, l) => n + l.instances, 0);
      out.push(`   ◦ …and ${plural(instances, 'more instance')} not shown${backups > 0 ? ` (${plural(backups, 'backup')} made after this one)` : ''}`);
      break;
    }
    out.push(line.text);
    used += line.text.length + 1;
  }
  return out;
}

/** The card's statement of what the restore forgets, a9s-pg first, then every other known instance. */
export function laterBackupsText(later: readonly LaterBackupsOf[], budget = BUDGET): string {
  const [own, ...others] = later;
  const lines: string[] = [];
  if (own) {
    if (!own.known) lines.push(`• :warning: The backups of ${code(own.instance)} could not be read (${escapeMrkdwn(own.error)}); every one made after this one will no longer be known.`);
    else if (own.later.length === 0) lines.push(`• No backups of ${code(own.instance)} were made after this one.`);
    else lines.push(`• The *${plural(own.later.length, 'backup')} of ${code(own.instance)} made after this one* will no longer be known:\n${newerBackupsList(own.later)}`);
  }
  lines.push(
    "• The Backup Manager's database holds the records of *every* instance: the backups of *other instances* made after this one are forgotten too." +
      (others.length === 0 ? ' (The bot knows no other instance to list.)' : ' Of the instances the bot knows:'),
  );
  const withBackups = others.filter((o) => o.known && o.later.length > 0);
  const unread = others.filter((o) => !o.known);
  const none = others.filter((o) => o.known && o.later.length === 0).map((o) => code(o.instance));
  const rows: Row[] = [
    ...withBackups.map((o) => {
      const list = o.known ? o.later : [];
      return { text: `   ◦ ${code(o.instance)}: ${plural(list.length, 'backup')} — ${inline(list)}`, instances: 1, backups: list.length };
    }),
    ...unread.map((o) => ({
      text: `   ◦ ${code(o.instance)}: :warning: could not be read (${escapeMrkdwn(o.known ? '' : o.error)}); its backups made after this one are forgotten too`,
      instances: 1,
      backups: 0,
    })),
  ];
  if (none.length > 0) rows.push({ text: `   ◦ ${none.join(', ')}: no backups were made after this one`, instances: none.length, backups: 0 });
  const head = lines.join('\n');
  return [head, ...fitted(rows, budget - head.length)].join('\n');
}

/** The summary's statement, per instance, of what the manager no longer lists. */
export function forgottenText(backupId: number, forgotten: readonly ForgottenOf[], budget = BUDGET): string {
  const head = `*Backups no longer known* to the Backup Manager (made after backup ${backupId}), per instance:`;
  // The restored instance's own list is shown in full, as on the card; the others inline.
  const rows = forgotten.map((f, n): Row => {
    if (!f.comparable) return { text: `• ${code(f.instance)}: :warning: not compared: ${escapeMrkdwn(f.why)}. Check \`/pgbackup list ${escapeMrkdwn(f.instance)}\`.`, instances: 1, backups: 0 };
    const parts: string[] = [];
    if (f.forgotten.length === 0 && f.stillListed.length === 0) parts.push('no backups were made after this one');
    if (f.forgotten.length > 0 && n === 0) parts.push(`${plural(f.forgotten.length, 'backup')}:\n${newerBackupsList(f.forgotten)}`);
    if (f.forgotten.length > 0 && n > 0) parts.push(`${plural(f.forgotten.length, 'backup')} — ${inline(f.forgotten)}`);
    if (f.stillListed.length > 0) parts.push(`:warning: ${plural(f.stillListed.length, 'later backup')} still listed — ${inline(f.stillListed)}`);
    return { text: `• ${code(f.instance)}: ${parts.join('; ')}`, instances: 1, backups: f.forgotten.length };
  });
  return [head, ...fitted(rows, budget - head.length)].join('\n');
}
