import type { types } from '@slack/bolt';
import type { LaterBackupsOf } from '../../domain/restore-request';
import { fields, section, type Block } from './blocks';
import { age, code, humanSize, truncate } from './format';
import { A9S_PG } from '../../domain/constants';
import { a9sPgWarnings } from './restore-card';

export const RESTORE_MODAL_CALLBACK = 'restore_request';
export const REASON_BLOCK = 'reason';
export const REASON_INPUT = 'reason_input';
export const CONFIRM_BLOCK = 'confirm';
export const CONFIRM_INPUT = 'confirm_input';
/** What the requester types to confirm an a9s-pg restore. */
export const A9S_PG_CONFIRMATION = A9S_PG;
export const MAX_REASON = 500;

/** What the modal carries back in private_metadata: the request, never trusted beyond its shape. */
export interface RestoreModalMetadata {
  instance: string;
  backupId: number;
  channel: string;
}

export interface RestoreModalInput extends RestoreModalMetadata {
  backupName: string | null;
  backupSize: number | null;
  backupCreatedAt: string | null;
  instanceNumericId: number;
  laterBackups: readonly LaterBackupsOf[];
  reasonRequired: boolean;
}

/** The Restore… modal: the backup and its impact, a reason, and for a9s-pg a typed confirmation. */
export function renderRestoreModal(input: RestoreModalInput, now: number): types.ModalView {
  const metadata: RestoreModalMetadata = { instance: input.instance, backupId: input.backupId, channel: input.channel };
  const blocks: Block[] = [
    fields([
      ['Instance', `${code(input.instance)} (id ${input.instanceNumericId})`],
      ['Backup', `${input.backupId}${input.backupName ? ` · ${code(input.backupName)}` : ''}`],
      ['Backup age', age(input.backupCreatedAt, now)],
      ['Size', humanSize(input.backupSize)],
    ]),
    section(`The current data of ${code(input.instance)} will be replaced. Nothing runs before someone else approves the request in the channel.`),
  ];
  if (input.instance === A9S_PG) blocks.push(section(a9sPgWarnings(input.laterBackups)));
  blocks.push({
    type: 'input',
    block_id: REASON_BLOCK,
    optional: !input.reasonRequired,
    label: { type: 'plain_text', text: 'Reason' },
    hint: { type: 'plain_text', text: input.reasonRequired ? 'Required: approvers decide on it.' : 'Shown to the approvers on the request card.' },
    element: { type: 'plain_text_input', action_id: REASON_INPUT, multiline: true, max_length: MAX_REASON },
  });
  if (input.instance === A9S_PG) {
    blocks.push({
      type: 'input',
      block_id: CONFIRM_BLOCK,
      label: { type: 'plain_text', text: `Type ${A9S_PG_CONFIRMATION} to confirm` },
      element: { type: 'plain_text_input', action_id: CONFIRM_INPUT, placeholder: { type: 'plain_text', text: A9S_PG_CONFIRMATION } },
    });
  }
  return {
    type: 'modal',
    callback_id: RESTORE_MODAL_CALLBACK,
    private_metadata: JSON.stringify(metadata),
    title: { type: 'plain_text', text: truncate(`Restore ${input.instance}`, 24) },
    submit: { type: 'plain_text', text: 'Request restore' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks,
  };
}
