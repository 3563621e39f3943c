import { z } from 'zod';
import type { Deps, Origin } from '../deps';
import type { BackupRef } from '../../domain/commands';
import { checkInstance } from '../../domain/commands';
import { renderRefusal } from '../../outbound/messages/access';
import { renderNotice } from '../../outbound/messages/help';
import { A9S_PG } from '../../domain/constants';
import {
  A9S_PG_CONFIRMATION,
  CONFIRM_BLOCK,
  MAX_REASON,
  REASON_BLOCK,
  renderRestoreModal,
  type RestoreModalMetadata,
} from '../../outbound/messages/restore-modal';
import type { LaterBackupsOf } from '../../ports/store';
import { readLaterBackups } from './impact';
import { findRestorable, requestRestore, restoreSubject, type RequestOutcome } from './request';

/** views.open with a trigger_id; Slack's answer is not needed beyond success. */
export type { ViewsPort } from '../../ports/slack';

/**
 * The Restore… button, and `/pgbackup restore <backup>` without a required reason: the same
 * checks as a request (lock, backup exists and is done), then the modal with the backup and
 * its impact. Nothing is stored until a valid submission.
 */
export async function openRestoreModal(
  deps: Deps,
  origin: Origin,
  input: { instance: string; backup: BackupRef; triggerId: string },
): Promise<'opened' | RequestOutcome> {
  const { instance } = input;
  const found = await findRestorable(deps, origin, instance, input.backup);
  if (typeof found === 'string') return found;
  const { view, backup } = found;
  const laterBackups: LaterBackupsOf[] = instance === A9S_PG ? await readLaterBackups(deps, { instance, view, chosen: backup }) : [];
  const modal = renderRestoreModal(
    {
      ...restoreSubject(instance, view, backup),
      channel: origin.channel,
      laterBackups,
      reasonRequired: deps.config.restoreReason === 'required',
    },
    deps.clock(),
  );
  try {
    await deps.views.open(input.triggerId, modal);
  } catch (err) {
    // A trigger_id lives three seconds: a slow manager read can outlast it.
    const error = (err as { data?: { error?: unknown } }).data?.error;
    deps.logger.warn({ slackError: typeof error === 'string' ? error : (err as Error).message }, 'views.open failed');
    await origin.reply(
      renderNotice(
        `:warning: I could not open the restore form${typeof error === 'string' ? ` (${error})` : ''}. Ask again, or type \`/pgbackup restore ${backup.id} ${instance} <reason>\`. Nothing was requested.`,
      ),
    );
    return 'error';
  }
  return 'opened';
}

const Metadata = z.object({
  instance: z.string().min(1).max(100),
  backupId: z.number().int().nonnegative(),
  channel: z.string().regex(/^[CGD][A-Z0-9]{2,}$/),
});

export type ModalVerdict = { ok: true; request: RestoreModalMetadata & { reason: string } } | { ok: false; errors: Record<string, string> };

/**
 * Pure check of a submitted Restore… modal; errors are keyed by block id, as Slack shows them
 * under the field (`response_action: errors`).
 */
export function validateRestoreModal(
  submission: { metadata: string; reason: string | null | undefined; confirmation: string | null | undefined },
  rules: { reasonRequired: boolean },
): ModalVerdict {
  let metadata: RestoreModalMetadata;
  try {
    metadata = Metadata.parse(JSON.parse(submission.metadata));
  } catch {
    return { ok: false, errors: { [REASON_BLOCK]: 'This form can not be read any more; close it and click Restore… again.' } };
  }
  const errors: Record<string, string> = {};
  const reason = (submission.reason ?? '').trim();
  if (rules.reasonRequired && reason === '') errors[REASON_BLOCK] = 'A reason is required: the approvers decide on it.';
  else if (reason.length > MAX_REASON) errors[REASON_BLOCK] = `At most ${MAX_REASON} characters (this one has ${reason.length}).`;
  if (metadata.instance === A9S_PG && (submission.confirmation ?? '').trim() !== A9S_PG_CONFIRMATION) {
    errors[CONFIRM_BLOCK] = `Type ${A9S_PG_CONFIRMATION} exactly: restoring it takes the Backup Manager down and forgets later backups.`;
  }
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, request: { ...metadata, reason } };
}

/**
 * A valid submission: the rules are checked again now (the channel and operators may have
 * changed since the modal opened), then the request card goes to the channel the modal came from.
 */
export async function submitRestoreModal(deps: Deps, origin: Origin, request: RestoreModalMetadata & { reason: string }): Promise<RequestOutcome> {
  const verdict = await deps.access.check({ user: origin.user, channel: origin.channel, permission: 'operate', action: 'restore_modal', instance: request.instance });
  if (!verdict.allowed) {
    await origin.reply(renderRefusal(verdict, 'request restores'));
    return 'refused';
  }
  const problem = checkInstance(request.instance, deps.config);
  if (problem) {
    await origin.reply(renderNotice(`:warning: ${problem}`));
    return 'refused';
  }
  return requestRestore(deps, origin, { instance: request.instance, backup: { kind: 'id', id: request.backupId }, reason: request.reason });
}
