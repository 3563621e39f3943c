import { webApi } from '@slack/bolt';
import { startFakeSlack, type StartedFakeSlack } from './index';
import type { StoredView } from './types';

const TOKEN = 'xoxb-test-token';
const modal = { type: 'modal' as const, title: { type: 'plain_text' as const, text: 'Restore' }, blocks: [] };

describe('fake Slack: user groups and modals', () => {
  let fake: StartedFakeSlack;
  let web: webApi.WebClient;
  beforeEach(async () => {
    fake = await startFakeSlack({ botToken: TOKEN, usergroups: { S0OPS: ['U0ALICE'] } });
    web = new webApi.WebClient(TOKEN, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('lists a group’s members, follows membership changes and refuses an unknown group', async () => {
    await expect(web.usergroups.users.list({ usergroup: 'S0OPS' })).resolves.toMatchObject({ ok: true, users: ['U0ALICE'] });
    fake.usergroups.set('S0OPS', ['U0ALICE', 'U0BOB']);
    await expect(web.usergroups.users.list({ usergroup: 'S0OPS' })).resolves.toMatchObject({ users: ['U0ALICE', 'U0BOB'] });
    await expect(web.usergroups.users.list({ usergroup: 'S0NONE' })).rejects.toMatchObject({ data: { error: 'no_such_subteam' } });
  });

  it('opens a modal on the screen of the person whose trigger it minted, updates and closes it', async () => {
    const shown: StoredView[] = [];
    fake.events.on('view', (v) => shown.push(structuredClone(v)));
    const trigger = fake.views.mintTrigger({ user: 'U0ALICE', channel: 'C0OPS' });
    const opened = await web.views.open({ trigger_id: trigger, view: modal });
    const id = opened.view?.id ?? '';
    expect(id).toMatch(/^V/);
    expect(fake.views.forUser('U0ALICE').map((v) => v.id)).toEqual([id]);
    await web.views.update({ view_id: id, view: { ...modal, title: { type: 'plain_text', text: 'Again' } } });
    expect(shown.map((v) => [v.user, (v.view.title as { text: string }).text])).toEqual([
      ['U0ALICE', 'Restore'],
      ['U0ALICE', 'Again'],
    ]);
    fake.views.close(id);
    expect(fake.views.forUser('U0ALICE')).toEqual([]);
    // A trigger the fake did not mint still opens a modal, on nobody's screen.
    await web.views.open({ trigger_id: '1.2.abc', view: modal });
    expect(fake.views.forUser('U0ALICE')).toEqual([]);
  });

  it('refuses a view that is not a modal, and an update of an unknown view', async () => {
    await expect(web.views.open({ trigger_id: '1.2.abc', view: { type: 'home', blocks: [] } as never })).rejects.toMatchObject({ data: { error: 'invalid_arguments' } });
    await expect(web.views.update({ view_id: 'V0NOPE', view: modal })).rejects.toMatchObject({ data: { error: 'not_found' } });
  });
});
