import type { Logger } from 'pino';
import type { Config } from '../../config';
import type { AuditRepo } from '../../ports/store';
import type { GroupResolver } from './groups';
import { authorize, groupsToResolve, type AccessRules, type Permission, type Verdict } from '../../domain/access-policy';

/** Who is asking for what, where; `action` names it in the audit log (e.g. `now`, `restore.approve`). */
export interface AccessRequest {
  user: string;
  channel: string;
  permission: Permission;
  action: string;
  instance?: string | null;
  requestId?: number | null;
}

export type { Refused } from '../../domain/access-policy';

/**
 * The one place that says yes or no: the current rules of the config, the groups resolved now
 * (cached at most five minutes), and every refusal recorded in the audit log.
 */
export interface AccessControl {
  check(request: AccessRequest): Promise<Verdict>;
}

export function rulesOf(config: Config): AccessRules {
  return { allowedChannels: config.allowedChannels, operators: config.operators, approvers: config.restoreApprovers };
}

export function createAccessControl(options: {
  rules: () => AccessRules;
  groups: GroupResolver;
  audit: Pick<AuditRepo, 'record'>;
  clock: () => number;
  logger: Logger;
}): AccessControl {
  return {
    async check(request) {
      const rules = options.rules();
      const groups = await options.groups.resolve(groupsToResolve(rules, request.user, request.permission));
      const verdict = authorize(rules, request, groups);
      if (!verdict.allowed) {
        const { allowed: _allowed, ...refusal } = verdict;
        options.audit.record({
          at: options.clock(),
          actor: request.user,
          action: 'access.refused',
          instance: request.instance ?? null,
          requestId: request.requestId ?? null,
          details: { ...refusal, action: request.action, channel: request.channel },
        });
        options.logger.info({ user: request.user, channel: request.channel, action: request.action, reason: verdict.reason }, 'refused');
      }
      return verdict;
    },
  };
}
