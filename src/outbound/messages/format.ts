import type { TaskStatus } from '../../domain/backups';

export { truncate } from '../../domain/text';

/** Slack's Block Kit limits (https://api.slack.com/reference/block-kit). */
export const LIMITS = {
  blocks: 50,
  sectionText: 3000,
  fieldText: 2000,
  fields: 10,
  header: 150,
  buttonText: 75,
  buttonValue: 2000,
  contextElements: 10,
  fallbackText: 3000,
} as const;

/** Escapes the three characters Slack treats as control sequences in mrkdwn. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Inline code for user-provided words: escaped and without backticks that would break out. */
export function code(text: string): string {
  return `\`${escapeMrkdwn(text.replace(/`/g, "'"))}\``;
}

export function user(id: string): string {
  return /^[UW][A-Z0-9]+$/.test(id) ? `<@${id}>` : escapeMrkdwn(id);
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function humanSize(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return 'size unknown';
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${UNITS[i]}`;
}

export function humanDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return 'unknown';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** "3h 5m ago" from an ISO time; 'unknown age' when the manager gave none. */
export function age(iso: string | null | undefined, now: number): string {
  if (!iso) return 'unknown age';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return 'unknown age';
  return now >= t ? `${humanDuration(now - t)} ago` : 'just now';
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * A time each reader's Slack shows in their own zone (`tokens` as Slack's date formatting,
 * e.g. `{time}`), with the UTC ISO time where a client can not. Never goes stale in an old message.
 */
export function slackDate(ms: number, tokens: string): string {
  return `<!date^${Math.floor(ms / 1000)}^${tokens}|${isoTime(ms)}>`;
}

const STATUS_EMOJI: Record<TaskStatus, string> = {
  queued: ':hourglass_flowing_sand:',
  running: ':arrows_counterclockwise:',
  done: ':white_check_mark:',
  failed: ':x:',
  deleted: ':wastebasket:',
  unknown: ':grey_question:',
};

export function statusLabel(status: TaskStatus, raw?: string): string {
  const word = status === 'unknown' && raw ? `unknown (${raw})` : status;
  return `${STATUS_EMOJI[status]} ${word}`;
}
