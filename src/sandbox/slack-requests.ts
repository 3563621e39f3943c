import { createHmac } from 'node:crypto';

/**
 * Builders for the requests Slack sends to an app's /slack/events, shaped like
 * /work/shared/fixtures (form field order included) and signed the way Slack signs them.
 * The sandbox, the end-to-end tests and the benchmarks all use these, so the bot is always
 * exercised through the same signature check as in production.
 */

export const SANDBOX_TEAM = { id: 'T0001', domain: 'example' } as const;
export const SANDBOX_APP_ID = 'A0APP';
/** Slack's deprecated verification token; Bolt ignores it, but real payloads carry one. */
export const SANDBOX_VERIFICATION_TOKEN = 'gIkuvaNzQIHg97ATvDxqgjtO';

export interface SignedRequest {
  signature: string;
  timestamp: string;
  headers: {
    'content-type': 'application/x-www-form-urlencoded';
    'x-slack-signature': string;
    'x-slack-request-timestamp': string;
  };
}

/** `timestampSeconds` lets a test forge a stale request (Slack and Bolt refuse those older than 5 minutes). */
export function signSlackRequest(
  signingSecret: string,
  body: string,
  timestampSeconds: number = Math.floor(Date.now() / 1000),
): SignedRequest {
  const timestamp = String(timestampSeconds);
  const signature = `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return {
    signature,
    timestamp,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-signature': signature,
      'x-slack-request-timestamp': timestamp,
    },
  };
}

export interface SlackPrincipal {
  id: string;
  name: string;
}

export interface SlashCommandInput {
  user: SlackPrincipal;
  channel: SlackPrincipal;
  text: string;
  responseUrl: string;
  command?: string;
  triggerId?: string;
  teamId?: string;
  teamDomain?: string;
}

export function newTriggerId(): string {
  const n = () => Math.floor(Math.random() * 1e9);
  return `${n()}.${n()}.${Math.random().toString(16).slice(2, 18).padEnd(16, '0')}`;
}

export function slashCommandBody(input: SlashCommandInput): string {
  return new URLSearchParams([
    ['token', SANDBOX_VERIFICATION_TOKEN],
    ['team_id', input.teamId ?? SANDBOX_TEAM.id],
    ['team_domain', input.teamDomain ?? SANDBOX_TEAM.domain],
    ['enterprise_id', ''],
    ['enterprise_name', ''],
    ['channel_id', input.channel.id],
    ['channel_name', input.channel.name],
    ['user_id', input.user.id],
    ['user_name', input.user.name],
    ['command', input.command ?? '/pgbackup'],
    ['text', input.text],
    ['api_app_id', SANDBOX_APP_ID],
    ['is_enterprise_install', 'false'],
    ['response_url', input.responseUrl],
    ['trigger_id', input.triggerId ?? newTriggerId()],
  ]).toString();
}

export interface ClickedButton {
  actionId: string;
  blockId: string;
  value?: string;
  text?: string;
  style?: string;
}

export interface ActionMessage {
  ts: string;
  text: string;
  blocks: unknown[];
  user?: string;
  botId?: string;
  threadTs?: string;
}

export interface BlockActionsInput {
  user: SlackPrincipal;
  channel: SlackPrincipal;
  /** The message holding the button. Omit it for an ephemeral message: Slack sends none then. */
  message?: ActionMessage;
  messageTs: string;
  isEphemeral: boolean;
  threadTs?: string;
  responseUrl: string;
  action: ClickedButton;
  triggerId?: string;
  teamId?: string;
  teamDomain?: string;
  actionTs?: string;
}

export interface BlockActionsPayload {
  type: 'block_actions';
  user: { id: string; username: string; name: string; team_id: string };
  api_app_id: string;
  token: string;
  container: {
    type: 'message';
    message_ts: string;
    channel_id: string;
    is_ephemeral: boolean;
    thread_ts?: string;
  };
  trigger_id: string;
  team: { id: string; domain: string };
  enterprise: null;
  is_enterprise_install: false;
  channel: { id: string; name: string };
  message?: {
    type: 'message';
    user?: string;
    bot_id?: string;
    ts: string;
    thread_ts?: string;
    text: string;
    blocks: unknown[];
  };
  state: { values: Record<string, never> };
  response_url: string;
  actions: Array<{
    action_id: string;
    block_id: string;
    text: { type: 'plain_text'; text: string; emoji: true };
    value?: string;
    style?: string;
    type: 'button';
    action_ts: string;
  }>;
}

function nowActionTs(): string {
  const micros = BigInt(Date.now()) * 1000n;
  return `${micros / 1_000_000n}.${String(micros % 1_000_000n).padStart(6, '0')}`;
}

export function blockActionsPayload(input: BlockActionsInput): BlockActionsPayload {
  const teamId = input.teamId ?? SANDBOX_TEAM.id;
  const { action, message } = input;
  return {
    type: 'block_actions',
    user: { id: input.user.id, username: input.user.name, name: input.user.name, team_id: teamId },
    api_app_id: SANDBOX_APP_ID,
    token: SANDBOX_VERIFICATION_TOKEN,
    container: {
      type: 'message',
      message_ts: input.messageTs,
      channel_id: input.channel.id,
      is_ephemeral: input.isEphemeral,
      ...(input.threadTs === undefined ? {} : { thread_ts: input.threadTs }),
    },
    trigger_id: input.triggerId ?? newTriggerId(),
    team: { id: teamId, domain: input.teamDomain ?? SANDBOX_TEAM.domain },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: input.channel.id, name: input.channel.name },
    ...(message === undefined
      ? {}
      : {
          message: {
            type: 'message' as const,
            ...(message.user === undefined ? {} : { user: message.user }),
            ...(message.botId === undefined ? {} : { bot_id: message.botId }),
            ts: message.ts,
            ...(message.threadTs === undefined ? {} : { thread_ts: message.threadTs }),
            text: message.text,
            blocks: message.blocks,
          },
        }),
    state: { values: {} },
    response_url: input.responseUrl,
    actions: [
      {
        action_id: action.actionId,
        block_id: action.blockId,
        text: { type: 'plain_text', text: action.text ?? action.actionId, emoji: true },
        ...(action.value === undefined ? {} : { value: action.value }),
        ...(action.style === undefined ? {} : { style: action.style }),
        type: 'button',
        action_ts: input.actionTs ?? nowActionTs(),
      },
    ],
  };
}

export function blockActionsBody(input: BlockActionsInput): string {
  return new URLSearchParams([['payload', JSON.stringify(blockActionsPayload(input))]]).toString();
}

export interface DeliveryResult {
  status: number;
  contentType: string;
  body: string;
}

/**
 * POSTs a signed body the way Slack does. Slack gives up after 3 seconds and tells the user the
 * app did not respond; the default timeout mirrors that so the sandbox shows the same failure.
 */
export async function sendSignedRequest(
  url: string,
  body: string,
  signingSecret: string,
  options: { timeoutMs?: number; timestampSeconds?: number; contentType?: 'application/json' } = {},
): Promise<DeliveryResult> {
  const signed = signSlackRequest(signingSecret, body, options.timestampSeconds);
  const response = await fetch(url, {
    method: 'POST',
    // Events API callbacks are JSON; commands and interactions are forms.
    headers: options.contentType ? { ...signed.headers, 'content-type': options.contentType } : signed.headers,
    body,
    signal: AbortSignal.timeout(options.timeoutMs ?? 3000),
  });
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    body: await response.text(),
  };
}

export interface ViewSubmissionInput {
  user: SlackPrincipal;
  view: { id: string; callback_id?: string; private_metadata?: string; blocks?: unknown[]; title?: unknown };
  /** block_id → action_id → the typed text, as Slack puts plain_text_input values in view.state. */
  values: Record<string, Record<string, string | null>>;
  triggerId?: string;
  teamId?: string;
  teamDomain?: string;
}

/** A modal's submission, shaped like Slack's `view_submission` interaction payload. */
export function viewSubmissionPayload(input: ViewSubmissionInput): Record<string, unknown> {
  const teamId = input.teamId ?? SANDBOX_TEAM.id;
  const values: Record<string, Record<string, { type: 'plain_text_input'; value: string | null }>> = {};
  for (const [blockId, actions] of Object.entries(input.values)) {
    values[blockId] = Object.fromEntries(Object.entries(actions).map(([actionId, value]) => [actionId, { type: 'plain_text_input' as const, value }]));
  }
  return {
    type: 'view_submission',
    team: { id: teamId, domain: input.teamDomain ?? SANDBOX_TEAM.domain },
    user: { id: input.user.id, username: input.user.name, name: input.user.name, team_id: teamId },
    api_app_id: SANDBOX_APP_ID,
    token: SANDBOX_VERIFICATION_TOKEN,
    trigger_id: input.triggerId ?? newTriggerId(),
    view: {
      id: input.view.id,
      team_id: teamId,
      type: 'modal',
      blocks: input.view.blocks ?? [],
      private_metadata: input.view.private_metadata ?? '',
      callback_id: input.view.callback_id ?? '',
      state: { values },
      hash: `${Date.now()}.${input.view.id}`,
      title: input.view.title ?? { type: 'plain_text', text: 'Modal' },
      app_id: SANDBOX_APP_ID,
      bot_id: 'B0BOT',
    },
    response_urls: [],
    is_enterprise_install: false,
    enterprise: null,
  };
}

export function viewSubmissionBody(input: ViewSubmissionInput): string {
  return new URLSearchParams([['payload', JSON.stringify(viewSubmissionPayload(input))]]).toString();
}

/** The person's DM with the app, as the sandbox names it (Slack's are opaque `D…` ids). */
export function appDmChannel(user: string): string {
  return `D${user.replace(/^[UW]/, '')}`;
}

/**
 * The Events API's `app_home_opened` (a JSON body, signed like the rest): the person opened the
 * app's Home tab.
 */
export function appHomeOpenedBody(input: { user: string; teamId?: string; tab?: 'home' | 'messages' }): string {
  const now = Date.now();
  return JSON.stringify({
    token: SANDBOX_VERIFICATION_TOKEN,
    team_id: input.teamId ?? SANDBOX_TEAM.id,
    api_app_id: SANDBOX_APP_ID,
    event: { type: 'app_home_opened', user: input.user, channel: appDmChannel(input.user), tab: input.tab ?? 'home', event_ts: `${Math.floor(now / 1000)}.${String(now % 1000).padStart(6, '0')}` },
    type: 'event_callback',
    event_id: `Ev${now.toString(36).toUpperCase()}${Math.random().toString(36).slice(2, 8).toUpperCase()}`,
    event_time: Math.floor(now / 1000),
  });
}

/** A click on a button of a published Home tab: no channel, no message, no response_url. */
export function homeBlockActionsBody(input: { user: SlackPrincipal; viewId: string; action: ClickedButton; teamId?: string }): string {
  const teamId = input.teamId ?? SANDBOX_TEAM.id;
  const now = Date.now();
  const payload = {
    type: 'block_actions',
    user: { id: input.user.id, username: input.user.name, name: input.user.name, team_id: teamId },
    api_app_id: SANDBOX_APP_ID,
    token: SANDBOX_VERIFICATION_TOKEN,
    container: { type: 'view', view_id: input.viewId },
    trigger_id: newTriggerId(),
    team: { id: teamId, domain: SANDBOX_TEAM.domain },
    enterprise: null,
    is_enterprise_install: false,
    view: { id: input.viewId, type: 'home', app_id: SANDBOX_APP_ID },
    actions: [
      {
        action_id: input.action.actionId,
        block_id: input.action.blockId,
        text: { type: 'plain_text', text: input.action.text ?? '', emoji: true },
        ...(input.action.value === undefined ? {} : { value: input.action.value }),
        type: 'button',
        action_ts: `${Math.floor(now / 1000)}.${String(now % 1000).padStart(3, '0')}${Math.floor(Math.random() * 1000).toString().padStart(3, '0')}`,
      },
    ],
  };
  return new URLSearchParams([['payload', JSON.stringify(payload)]]).toString();
}
