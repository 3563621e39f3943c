import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';

/**
 * The floor of ack-latency: a Bolt app whose only listener acks `/pgbackup`, with the same
 * receiver settings and client options as the bot, served by a node http server on loopback.
 * Run as its own process; prints `{"port": n}` once listening and stops on SIGTERM.
 */
const signingSecret = process.env.SLACK_SIGNING_SECRET ?? '';
const receiver = new HTTPReceiver({ signingSecret, endpoints: '/slack/events', processBeforeResponse: false, logLevel: LogLevel.ERROR });
const app = new App({
  token: process.env.SLACK_BOT_TOKEN,
  receiver,
  logLevel: LogLevel.ERROR,
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true },
});
app.command('/pgbackup', async ({ ack }) => {
  await ack();
});
const server = createServer(receiver.requestListener);
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
