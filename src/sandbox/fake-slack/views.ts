import type { EventEmitter } from 'node:events';
import type { FakeSlackEvents, StoredView } from './types';

type Emit = EventEmitter<FakeSlackEvents>['emit'];

/**
 * Open modals. A trigger_id minted by `mintTrigger` says whose screen the modal opens on (the
 * sandbox page); any other well-formed trigger_id is accepted with no known user, as the
 * end-to-end tests mint their own. Slack's three-second expiry of triggers is not modelled.
 */
export class Views {
  private readonly open = new Map<string, StoredView>();
  private readonly triggers = new Map<string, { user: string; channel: string }>();
  /** The Home tab last published per person (views.publish). */
  private readonly homes = new Map<string, Record<string, unknown>>();
  private counter = 0;

  constructor(private readonly emit: Emit) {}

  mintTrigger(ctx: { user: string; channel: string }): string {
    const id = `${Date.now()}.${++this.counter}.${Math.random().toString(16).slice(2, 18).padEnd(16, '0')}`;
    this.triggers.set(id, ctx);
    return id;
  }

  openView(triggerId: string, view: Record<string, unknown>): StoredView {
    const ctx = this.triggers.get(triggerId);
    this.triggers.delete(triggerId);
    const stored: StoredView = { id: `V${(++this.counter).toString(36).toUpperCase().padStart(8, '0')}`, user: ctx?.user, view };
    this.open.set(stored.id, stored);
    this.emit('view', stored);
    return stored;
  }

  update(id: string, view: Record<string, unknown>): StoredView | undefined {
    const stored = this.open.get(id);
    if (stored === undefined) return undefined;
    stored.view = view;
    this.emit('view', stored);
    return stored;
  }

  get(id: string): StoredView | undefined {
    return this.open.get(id);
  }

  close(id: string): void {
    const stored = this.open.get(id);
    if (stored === undefined) return;
    this.open.delete(id);
    this.emit('view_closed', { id, user: stored.user });
  }

  publishHome(user: string, view: Record<string, unknown>): void {
    this.homes.set(user, view);
    this.emit('home', { user, view });
  }

  home(user: string): Record<string, unknown> | undefined {
    return this.homes.get(user);
  }

  forUser(user: string): StoredView[] {
    return [...this.open.values()].filter((v) => v.user === user);
  }

  clear(): void {
    this.open.clear();
    this.triggers.clear();
    this.homes.clear();
  }
}
