/**
 * manifest.yml installs the Slack app in one paste: it must offer what the code uses
 * (the command, the buttons, Socket Mode) and ask for no scope the code does not need.
 */
import { parse } from 'yaml';
import { z } from 'zod';
import { read, slackMethodsCalled, sourceFiles } from './project';

/** Bolt registrations in the bot's listeners, e.g. app.command('/pgbackup', …). */
function registrations(kind: 'command' | 'event' | 'message' | 'view' | 'shortcut'): string[] {
  const re = new RegExp(`\\bapp\\.${kind}\\(\\s*(?:'([^']*)')?`, 'g');
  return sourceFiles('src/inbound/slack').flatMap((f) => [...read(f).matchAll(re)].map((m) => m[1] ?? '(non-literal)'));
}

const SlashCommand = z.object({
  command: z.string(),
  description: z.string(),
  usage_hint: z.string().optional(),
  url: z.string().optional(),
  should_escape: z.boolean().optional(),
});

const Manifest = z.object({
  _metadata: z.object({ major_version: z.number(), minor_version: z.number().optional() }),
  display_information: z.object({ name: z.string(), description: z.string().optional() }),
  features: z.object({
    bot_user: z.object({ display_name: z.string(), always_online: z.boolean().optional() }),
    slash_commands: z.array(SlashCommand),
  }),
  oauth_config: z.object({ scopes: z.object({ bot: z.array(z.string()), user: z.array(z.string()).optional() }) }),
  settings: z.object({
    interactivity: z.object({ is_enabled: z.boolean(), request_url: z.string().optional() }),
    event_subscriptions: z.unknown().optional(),
    org_deploy_enabled: z.boolean(),
    socket_mode_enabled: z.boolean(),
    token_rotation_enabled: z.boolean().optional(),
  }),
});

const manifest = Manifest.parse(parse(read('manifest.yml')));

/**
 * Bot scopes of each Web API method the bot may call. A method missing here fails the test:
 * add it with its scope (https://api.slack.com/methods) and the scope to manifest.yml.
 */
const SCOPE_OF: Readonly<Record<string, string | readonly string[] | null>> = {
  'chat.postMessage': 'chat:write',
  'chat.update': 'chat:write',
  'chat.postEphemeral': 'chat:write',
  'chat.delete': 'chat:write',
  'auth.test': null,
  // No scope required (https://api.slack.com/methods/chat.getPermalink).
  'chat.getPermalink': null,
  // The outbox's look-up of an unanswered post: public and private channels.
  'conversations.history': ['channels:history', 'groups:history'],
  'conversations.replies': ['channels:history', 'groups:history'],
  'usergroups.users.list': 'usergroups:read',
  'views.open': null,
  'views.update': null,
  'views.publish': null,
};

describe('Slack app manifest (manifest.yml)', () => {
  it('is a version 1 manifest named pgbackup with a bot user', () => {
    expect(manifest._metadata.major_version).toBe(1);
    expect(manifest.display_information.name).toBe('pgbackup');
    expect(manifest.features.bot_user.display_name).toBe('pgbackup');
  });

  it('has the one slash command /pgbackup with a description and the usage hint', () => {
    expect(manifest.features.slash_commands.map((c) => c.command)).toEqual(registrations('command'));
    const [cmd] = manifest.features.slash_commands;
    expect(cmd?.command).toBe('/pgbackup');
    expect(cmd?.description.length).toBeGreaterThan(0);
    expect(cmd?.usage_hint).toBe('now|list|status|restore <backup> [instance] [reason]|help');
  });

  it('asks for exactly the bot scopes the code needs: commands plus those of the Web API methods it calls', () => {
    const called = slackMethodsCalled();
    expect([...called.keys()].sort()).toEqual(expect.arrayContaining(['auth.test', 'chat.postEphemeral', 'chat.postMessage', 'chat.update']));
    const unknown = [...called.keys()].filter((m) => !(m in SCOPE_OF));
    expect(unknown).toEqual([]);
    const needed = new Set(['commands']);
    for (const method of called.keys()) {
      const scope = SCOPE_OF[method];
      for (const s of scope === null || scope === undefined ? [] : typeof scope === 'string' ? [scope] : scope) needed.add(s);
    }
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual([...needed].sort());
    expect(manifest.oauth_config.scopes.user ?? []).toEqual([]);
  });

  it('turns interactivity on (the Restore…, Approve and Reject buttons)', () => {
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
  });

  it('uses Socket Mode, so no request URL is needed, and is not org-wide', () => {
    expect(manifest.settings.socket_mode_enabled).toBe(true);
    expect(manifest.settings.org_deploy_enabled).toBe(false);
    expect(manifest.features.slash_commands[0]?.url).toBeUndefined();
    expect(manifest.settings.interactivity.request_url).toBeUndefined();
    // Modal submissions (app.view) come through interactivity, like the buttons.
    expect([...registrations('message'), ...registrations('shortcut')]).toEqual([]);
  });

  it('subscribes to exactly the events the bot listens to, with the Home tab on for app_home_opened', () => {
    const events = z.object({ bot_events: z.array(z.string()), request_url: z.string().optional() }).parse(manifest.settings.event_subscriptions);
    expect([...events.bot_events].sort()).toEqual(registrations('event').sort());
    expect(events.bot_events).toContain('app_home_opened');
    expect(events.request_url).toBeUndefined();
    expect(z.object({ app_home: z.object({ home_tab_enabled: z.literal(true) }) }).safeParse(parse(read('manifest.yml')).features).success).toBe(true);
  });

  it('keeps the bot token static: the bot does not refresh rotating tokens', () => {
    expect(manifest.settings.token_rotation_enabled ?? false).toBe(false);
  });
});
