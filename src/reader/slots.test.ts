import { Slots } from './slots';

function gate(): { promise: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

describe('Slots', () => {
  it('runs at most `size` tasks at once, then the waiting ones by priority and order', async () => {
    const slots = new Slots(2);
    const g = gate();
    const order: string[] = [];
    let running = 0;
    let most = 0;
    const task = (name: string) => async () => {
      running++;
      most = Math.max(most, running);
      order.push(name);
      await g.promise;
      running--;
    };
    const all = [slots.run(5, task('a')), slots.run(5, task('b')), slots.run(5, task('c')), slots.run(1, task('urgent')), slots.run(5, task('d'))];
    expect(order).toEqual(['a', 'b']);
    g.open();
    await Promise.all(all);
    expect(order).toEqual(['a', 'b', 'urgent', 'c', 'd']);
    expect(most).toBe(2);
  });

  it('after stop, waiting tasks reject and new ones are refused; running ones finish', async () => {
    const slots = new Slots(1);
    const g = gate();
    const first = slots.run(5, async () => {
      await g.promise;
      return 'done';
    });
    const waiting = slots.run(5, async () => 'never');
    const reason = new Error('stopped');
    slots.stop(reason);
    await expect(waiting).rejects.toBe(reason);
    await expect(slots.run(5, async () => 'late')).rejects.toBe(reason);
    g.open();
    await expect(first).resolves.toBe('done');
  });
});
