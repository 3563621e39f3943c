import type { webApi } from '@slack/bolt';
import { z } from 'zod';
import type { UsergroupMembersPort } from '../access/groups';

const UsergroupUsers = z.object({ ok: z.literal(true), users: z.array(z.string()) });

/** usergroups.users.list (scope usergroups:read), its answer checked at the edge. */
export function usergroupMembersPort(web: Pick<webApi.WebClient, 'usergroups'>): UsergroupMembersPort {
  return async (group) => UsergroupUsers.parse(await web.usergroups.users.list({ usergroup: group })).users;
}
