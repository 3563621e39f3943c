import type { webApi } from '@slack/bolt';
import { z } from 'zod';
import type { UsergroupMembersPort, ViewsPort } from '../../ports/slack';

const UsergroupUsers = z.object({ ok: z.literal(true), users: z.array(z.string()) });

/** usergroups.users.list (scope usergroups:read), its answer checked at the edge. */
export function usergroupMembersPort(web: Pick<webApi.WebClient, 'usergroups'>): UsergroupMembersPort {
  return async (group) => UsergroupUsers.parse(await web.usergroups.users.list({ usergroup: group })).users;
}

/** views.open; a refusal (e.g. an expired trigger_id) rejects with Slack's error code in `data.error`. */
export function viewsPort(web: Pick<webApi.WebClient, 'views'>): ViewsPort {
  return {
    open: async (triggerId, view) => {
      await web.views.open({ trigger_id: triggerId, view });
    },
  };
}

/** views.publish: a person's Home tab (no scope needed). */
export function homePort(web: Pick<webApi.WebClient, 'views'>): (user: string, view: { type: 'home'; blocks: unknown[] }) => Promise<void> {
  return async (user, view) => {
    await web.views.publish({ user_id: user, view: view as never });
  };
}
