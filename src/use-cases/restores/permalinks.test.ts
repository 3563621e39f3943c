import pino from 'pino';
import { Permalinks } from './permalinks';

describe('Permalinks', () => {
  it('fetches a link once and tells everyone who asked while it was on its way', async () => {
    let answer: (link: string) => void = () => undefined;
    const fetched = new Promise<string>((resolve) => (answer = resolve));
    const fetch = jest.fn(() => fetched);
    const links = new Permalinks(fetch, pino({ level: 'silent' }));
    const told: string[] = [];
    // All callbacks run in one loop: once the first has resolved its promise and we resume, the rest ran too.
    const first = new Promise<void>((resolve) => links.request('C0OPS', '1.2', () => resolve()));
    links.request('C0OPS', '1.2', () => told.push('home'));
    answer('https://example.slack.com/archives/C0OPS/p12');
    await first;
    await fetched;
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(links.get('C0OPS', '1.2')).toBe('https://example.slack.com/archives/C0OPS/p12');
    expect(told).toEqual(['home']);
  });
});
