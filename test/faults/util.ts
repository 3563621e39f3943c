export { freePort, httpGet } from '../helpers/http';
import { httpGet } from '../helpers/http';
import { BOT_TOKEN, Harness, MANAGER_PASSWORD, SIGNING_SECRET, textOf, type Args } from '../e2e/harness';

/** Everything the bot said in Slack: Web API call arguments and response_url bodies. */
export function everythingSaid(h: Harness): string[] {
  return [...h.slack.calls.map((c) => JSON.stringify(c.args)), ...h.slack.responses.map((r) => JSON.stringify(r.body))];
}

/** Base64 of the basic-auth pair, as it would appear if a header leaked. */
export function basicToken(user: string, password: string): string {
  return Buffer.from(`${user}:${password}`, 'utf8').toString('base64');
}

/** A JavaScript stack frame (`at fn (/path/file.js:1:2)`) or a bare Error dump. */
const STACK = /\bat (?:[\w$.<>[\] ]+ )?\(?(?:\/|node:|file:)[^\s)]*:\d+:\d+\)?|\n\s+at\s|\b(?:TypeError|RangeError|SyntaxError|ReferenceError|SqliteError): /;

/** Fails when anything the bot said in Slack holds a stack trace or one of the harness's secrets. */
export function expectNothingLeaked(h: Harness, extraSecrets: string[] = []): void {
  const secrets = [MANAGER_PASSWORD, SIGNING_SECRET, BOT_TOKEN, basicToken('admin', MANAGER_PASSWORD), ...extraSecrets];
  for (const said of everythingSaid(h)) {
    expect(said).not.toMatch(STACK);
    for (const s of secrets) expect(said.includes(s) ? `secret leaked: ${said.slice(0, 200)}` : 'ok').toBe('ok');
  }
}

/** The bot's /healthz answers 200 (the process is up and its loop is not stuck). */
export async function expectHealthy(baseUrl: string): Promise<void> {
  const res = await httpGet(`${baseUrl}/healthz`);
  expect(res.status).toBe(200);
}

/** A reply in the thread `ts` whose text names `status` as the bot words transitions. */
export const replyIn =
  (ts: string, status: string) =>
  (a: Args): boolean =>
    a.thread_ts === ts && new RegExp(`is ${status}|${status.toUpperCase()}`).test(a.text ?? '');

/** The parent message of a backup thread in `channel`. */
export const isParent =
  (channel: string) =>
  (a: Args): boolean =>
    a.channel === channel && a.thread_ts === undefined && /Backup of/.test(textOf(a));

/** Successful calls only: what a person in Slack actually sees. */
export function delivered(h: Harness, method: string, predicate: (a: Args) => boolean): Args[] {
  return h.slack.calls.filter((c) => c.method === method && c.response.ok === true && predicate(c.args as Args)).map((c) => c.args as Args);
}

/**
 * Waits until every job the outbox still holds is sent or given up; fails if one was given up.
 * A sent job may queue a follow-up (e.g. the audit message's link once the permalink is known,
 * a notice of the staleness alarm decided from the same read): those are waited for too, a
 * bounded number of rounds.
 */
export async function outboxSettled(h: Harness): Promise<void> {
  const { store, outbox } = h.bot.deps;
  for (let round = 0; round < 10 && store.outbox.pending().length > 0; round++) {
    const settled = await Promise.all(store.outbox.pending().map((job) => outbox.settled(job.id)));
    expect(settled.filter((job) => job.state !== 'sent').map((job) => `${job.key}: ${job.state} ${job.error ?? ''}`)).toEqual([]);
  }
  expect(store.outbox.pending()).toHaveLength(0);
}
