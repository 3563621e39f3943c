import type { Overview, InstanceOverview, ThreadRef } from '../../domain/overview';
import { actions, button, context, divider, header, message, section, type Block, type SlackMessage } from './blocks';
import { code, escapeMrkdwn, humanSize, slackDate, truncate, user } from './format';

export const HOME_BACKUP_ACTION = 'home_backup_now';
export const HOME_LIST_ACTION = 'home_list';
/** Slack's limit for a Home tab view. */
export const HOME_MAX_BLOCKS = 100;

/** The value of a Home button: the instance, and where its answers and threads go (the Home has no channel). */
export function homeButtonValue(instance: string, channel: string | undefined): string {
  return JSON.stringify(channel ? { instance, channel } : { instance });
}

const ago = (ms: number) => slackDate(ms, '{date_short_pretty} {time} ({ago})');

function thread(ref: ThreadRef | undefined, label: string): string {
  // Only a plain URL can sit inside <…|…>.
  if (!ref?.link || /[\s<>|]/.test(ref.link)) return '';
  return ` · <${ref.link}|${label}>`;
}

/**
 * When to say when a view was read: 'always' (a message, rendered once), or only when it is
 * late (the Home, published again when what it shows changes: a read time would change it at
 * every read; a late one stays put, and Slack counts its age on the reader's screen).
 */
export type ReadTimes = 'always' | 'late';

function readLine(at: number | undefined, late: boolean, readTimes: ReadTimes): string | undefined {
  if (at === undefined || (!late && readTimes === 'late')) return undefined;
  return late ? `:warning: Last read ${ago(at)}, none since: this may be out of date` : `Read ${ago(at)}`;
}

function managerLine(o: Overview, readTimes: ReadTimes): string {
  const { up, since, generation, readAt, readLate } = o.manager;
  const state = up === undefined ? ':grey_question: not read yet' : up ? ':large_green_circle: reachable' : `:red_circle: *unreachable*${since ? ` since ${ago(since)}` : ''}`;
  const read = readLine(readAt, readLate, readTimes);
  return `*Backup Manager:* ${state} · API generation: ${code(generation)}${read ? `\n${read}` : ''}`;
}

function statusOf(i: InstanceOverview, staleAfterHours: number): string {
  if (i.readAt === undefined) return '_not read yet_ (only `WATCH_INSTANCES` are read in the background; *List* reads it now)';
  if (i.stale === true) return `:warning: *stale*: no good backup within ${staleAfterHours} h`;
  if (i.lastGood) return ':white_check_mark: backed up';
  return ':grey_question: no good backup seen';
}

function instanceText(i: InstanceOverview, staleAfterHours: number, readTimes: ReadTimes): string {
  const lines = [`*${code(i.instance)}* · ${statusOf(i, staleAfterHours)}`];
  const read = readLine(i.readAt, i.readLate, readTimes);
  if (read) lines.push(read);
  if (i.readAt !== undefined) {
    lines.push(
      i.lastGood
        ? `Last good backup: ${i.lastGood.name ? code(i.lastGood.name) : `id ${i.lastGood.id}`} (id ${i.lastGood.id}, ${humanSize(i.lastGood.size)}), taken ${ago(i.lastGood.at)}`
        : 'Last good backup: _none_',
    );
    if (i.lastFailure) {
      const why = i.lastFailure.msg ? `: ${escapeMrkdwn(truncate(i.lastFailure.msg, 200))}` : '';
      lines.push(`Last failure: backup ${i.lastFailure.id}${i.lastFailure.at !== null ? ` at ${ago(i.lastFailure.at)}` : ''}${why}`);
    }
  }
  for (const r of i.running) lines.push(`:arrows_counterclockwise: Backup ${r.id} ${escapeMrkdwn(r.status)}${r.startedAt !== null ? ` since ${ago(r.startedAt)}` : ''}${thread(r.thread, 'thread')}`);
  for (const r of i.restores) lines.push(`:rewind: Restore of backup ${escapeMrkdwn(String(r.backupId ?? '?'))} ${escapeMrkdwn(r.state)}${thread(r.thread, 'request')}`);
  for (const p of i.pending) {
    const missing = p.approvalsMissing === 1 ? '1 approval missing' : `${p.approvalsMissing} approvals missing`;
    lines.push(`:hourglass_flowing_sand: Restore of backup ${p.backupId} requested by ${user(p.requester)}: ${missing}, expires ${ago(p.expiresAt)}${thread(p.thread, 'request')}`);
  }
  return lines.join('\n');
}

function instanceBlocks(i: InstanceOverview, o: Overview, channel: string | undefined, readTimes: ReadTimes): Block[] {
  const value = homeButtonValue(i.instance, channel);
  return [
    section(instanceText(i, o.staleAfterHours, readTimes)),
    actions(`home:${i.instance}`.slice(0, 255), [
      button({ text: 'Back up now', actionId: HOME_BACKUP_ACTION, value, style: 'primary', accessibilityLabel: `Back up ${i.instance} now` }),
      button({ text: 'List', actionId: HOME_LIST_ACTION, value, accessibilityLabel: `List the backups of ${i.instance}` }),
    ]),
    ...(i.watched ? [context('Watched: failures and staleness are announced in the notify channel')] : []),
    divider(),
  ];
}

/** The blocks of the overview; instances that do not fit in `maxBlocks` are named, not dropped silently. */
export function renderOverviewBlocks(o: Overview, options: { channel?: string | undefined; maxBlocks: number; readTimes: ReadTimes }): Block[] {
  const blocks: Block[] = [header('pgbackup: backups at a glance'), section(managerLine(o, options.readTimes)), divider()];
  const reserve = 1;
  let shown = 0;
  for (const i of o.instances) {
    const next = instanceBlocks(i, o, options.channel, options.readTimes);
    if (blocks.length + next.length > options.maxBlocks - reserve) break;
    blocks.push(...next);
    shown++;
  }
  const hidden = o.instances.slice(shown).map((i) => i.instance);
  if (hidden.length > 0) blocks.push(context(truncate(`Not shown (no room): ${hidden.map((n) => code(n)).join(', ')}. \`/pgbackup list <instance>\` shows one.`, 2000)));
  return blocks;
}

/** The Home tab of one person (views.publish). */
export function renderHomeView(o: Overview, channel: string | undefined): { type: 'home'; blocks: Block[] } {
  return { type: 'home', blocks: renderOverviewBlocks(o, { channel, maxBlocks: HOME_MAX_BLOCKS, readTimes: 'late' }) };
}

/** `/pgbackup status` with no instance: the same overview, ephemeral, with the time of each read. */
export function renderOverviewMessage(o: Overview): SlackMessage {
  const stale = o.instances.filter((i) => i.stale === true).map((i) => i.instance);
  const text = `Backups at a glance: ${o.instances.length} instance(s)${stale.length > 0 ? `, stale: ${stale.join(', ')}` : ''}`;
  return message(escapeMrkdwn(text), renderOverviewBlocks(o, { maxBlocks: 50, readTimes: 'always' }));
}
