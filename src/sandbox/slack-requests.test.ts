import { isValidSlackRequest } from '@slack/bolt';
import { blockActionsBody, blockActionsPayload, signSlackRequest, slashCommandBody } from './slack-requests';

// Verbatim from /work/shared/fixtures, so the builders are held to the shapes Slack sends.
const SLASH_COMMAND_FIXTURE =
  'token=gIkuvaNzQIHg97ATvDxqgjtO&team_id=T0001&team_domain=example&enterprise_id=&enterprise_name=&channel_id=C0OPS&channel_name=ops&user_id=U0ALICE&user_name=alice&command=%2Fpgbackup&text=now+a9s-pg&api_app_id=A0APP&is_enterprise_install=false&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT0001%2F1234%2Fabcd&trigger_id=13345224609.738474920.8088930838d88f008e0';

const BLOCK_ACTIONS_FIXTURE = {
  type: 'block_actions',
  user: { id: 'U0BOB', username: 'bob', name: 'bob', team_id: 'T0001' },
  api_app_id: 'A0APP',
  token: 'gIkuvaNzQIHg97ATvDxqgjtO',
  container: { type: 'message', message_ts: '1732590000.000100', channel_id: 'C0OPS', is_ephemeral: false },
  trigger_id: '13345224609.738474920.8088930838d88f008e0',
  team: { id: 'T0001', domain: 'example' },
  enterprise: null,
  is_enterprise_install: false,
  channel: { id: 'C0OPS', name: 'ops' },
  message: { type: 'message', user: 'U0BOT', bot_id: 'B0BOT', ts: '1732590000.000100', text: 'Restore of a9s-pg requested', blocks: [] },
  state: { values: {} },
  response_url: 'https://hooks.slack.com/actions/T0001/5678/efgh',
  actions: [
    {
      action_id: 'restore_approve',
      block_id: 'restore:7',
      text: { type: 'plain_text', text: 'Approve', emoji: true },
      value: '7',
      style: 'primary',
      type: 'button',
      action_ts: '1732590123.456789',
    },
  ],
};

const fixtureAction = {
  user: { id: 'U0BOB', name: 'bob' },
  channel: { id: 'C0OPS', name: 'ops' },
  messageTs: '1732590000.000100',
  isEphemeral: false,
  message: { ts: '1732590000.000100', text: 'Restore of a9s-pg requested', blocks: [], user: 'U0BOT', botId: 'B0BOT' },
  responseUrl: 'https://hooks.slack.com/actions/T0001/5678/efgh',
  action: { actionId: 'restore_approve', blockId: 'restore:7', value: '7', text: 'Approve', style: 'primary' },
  triggerId: '13345224609.738474920.8088930838d88f008e0',
  actionTs: '1732590123.456789',
};

describe('Slack request builders', () => {
  it("signs as Slack's documented worked example does", () => {
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    const signed = signSlackRequest('8f742231b10e8888abcd99yyyzzz85a5', body, 1531420618);
    expect(signed.signature).toBe('v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503');
    expect(signed.headers['x-slack-request-timestamp']).toBe('1531420618');
  });

  it("produces signatures Bolt's own verifier accepts, and only under the right secret", () => {
    const body = slashCommandBody({ user: { id: 'U0ALICE', name: 'alice' }, channel: { id: 'C0OPS', name: 'ops' }, text: 'help', responseUrl: 'http://x/' });
    const { headers } = signSlackRequest('s3cret', body);
    const boltHeaders = {
      'x-slack-signature': headers['x-slack-signature'],
      'x-slack-request-timestamp': Number(headers['x-slack-request-timestamp']),
    };
    expect(isValidSlackRequest({ signingSecret: 's3cret', body, headers: boltHeaders })).toBe(true);
    expect(isValidSlackRequest({ signingSecret: 'other', body, headers: boltHeaders })).toBe(false);
    const stale = signSlackRequest('s3cret', body, Math.floor(Date.now() / 1000) - 301);
    expect(
      isValidSlackRequest({
        signingSecret: 's3cret',
        body,
        headers: { 'x-slack-signature': stale.signature, 'x-slack-request-timestamp': Number(stale.timestamp) },
      }),
    ).toBe(false);
  });

  it('builds the slash-command form of the fixture byte for byte', () => {
    expect(
      slashCommandBody({
        user: { id: 'U0ALICE', name: 'alice' },
        channel: { id: 'C0OPS', name: 'ops' },
        text: 'now a9s-pg',
        responseUrl: 'https://hooks.slack.com/commands/T0001/1234/abcd',
        triggerId: '13345224609.738474920.8088930838d88f008e0',
      }),
    ).toBe(SLASH_COMMAND_FIXTURE);
  });

  it('builds the block_actions payload of the fixture, form-encoded as payload=', () => {
    expect(blockActionsPayload(fixtureAction)).toEqual(BLOCK_ACTIONS_FIXTURE);
    const body = blockActionsBody(fixtureAction);
    expect(body.startsWith('payload=%7B%22type%22%3A%22block_actions%22')).toBe(true);
    expect(JSON.parse(new URLSearchParams(body).get('payload') ?? '')).toEqual(BLOCK_ACTIONS_FIXTURE);
  });
});
