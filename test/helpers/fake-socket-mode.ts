import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * A fake of Slack's Socket Mode WebSocket endpoint, on loopback, for tests: the URL that the
 * fake Web API hands out from `apps.connections.open` (its `socketModeUrl` option).
 *
 * The WebSocket protocol (RFC 6455) is spoken here directly over `node:http`'s upgrade: the
 * `ws` package is not installed (@slack/socket-mode 3 connects with undici's WebSocket, and
 * lists `ws` only among its dev dependencies), and the server side needs little: the
 * handshake, unmasking of client frames, text messages, ping → pong and the close handshake.
 *
 * What Slack does on such a connection, and so does this fake: it sends `{"type":"hello"}`
 * first, then envelopes (`{envelope_id, type, payload, accepts_response_payload}`); the app
 * answers each with `{envelope_id, payload}` on the same socket.
 */

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;
const DEFAULT_WAIT_MS = 5000;

export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

/** An app's answer to one envelope. */
export interface SocketModeAck {
  envelope_id: string;
  payload?: Record<string, unknown>;
}

export function isAck(message: unknown): message is SocketModeAck {
  return typeof message === 'object' && message !== null && typeof (message as { envelope_id?: unknown }).envelope_id === 'string';
}

interface Frame {
  fin: boolean;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

function encodeFrame(opcode: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  // Server frames are never masked (RFC 6455 5.1).
  const length = payload.length;
  let header: Buffer;
  if (length < 126) {
    header = Buffer.from([0x80 | opcode, length]);
  } else if (length < 0x10000) {
    header = Buffer.alloc(4);
    header[0] = 0x80 | opcode;
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x80 | opcode;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, payload]);
}

/** Takes every complete frame off the front of `buffer`; returns them and what is left. */
function decodeFrames(buffer: Buffer): { frames: Frame[]; rest: Buffer } {
  const frames: Frame[] = [];
  let offset = 0;
  for (;;) {
    const available = buffer.length - offset;
    if (available < 2) break;
    const b0 = buffer[offset] as number;
    const b1 = buffer[offset + 1] as number;
    const masked = (b1 & 0x80) !== 0;
    let length = b1 & 0x7f;
    let headerLength = 2;
    if (length === 126) {
      if (available < 4) break;
      length = buffer.readUInt16BE(offset + 2);
      headerLength = 4;
    } else if (length === 127) {
      if (available < 10) break;
      length = Number(buffer.readBigUInt64BE(offset + 2));
      headerLength = 10;
    }
    const maskLength = masked ? 4 : 0;
    if (available < headerLength + maskLength + length) break;
    const mask = buffer.subarray(offset + headerLength, offset + headerLength + maskLength);
    const start = offset + headerLength + maskLength;
    const payload = Buffer.from(buffer.subarray(start, start + length));
    if (masked) for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (mask[i % 4] as number);
    frames.push({ fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, masked, payload });
    offset = start + length;
  }
  return { frames, rest: buffer.subarray(offset) };
}

/** One accepted WebSocket connection (one SocketModeClient connection of the app). */
export class SocketModeConnection {
  /** Every text message the app sent, parsed as JSON (a non-JSON message is kept as its string). */
  readonly received: unknown[] = [];
  /** Close code the app sent, once it has started or answered the close handshake. */
  closeCode: number | undefined;
  /** Protocol violations seen on this connection (e.g. an unmasked client frame); a test expects none. */
  readonly violations: string[] = [];
  private readonly events = new EventEmitter<{ message: [unknown]; closed: [] }>();
  private buffer: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private closeSent = false;
  private ended = false;

  constructor(
    private readonly socket: Duplex,
    /** The upgrade request, e.g. to check the path and ticket the app connected with. */
    readonly request: IncomingMessage,
    head: Buffer = Buffer.alloc(0),
  ) {
    this.events.setMaxListeners(0);
    if (head.length > 0) this.onData(head);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => this.onClosed());
    // The peer gone without a close frame (its process killed: the kernel sends a FIN): the
    // upgraded socket is half-open, so end this side too, or 'close' never comes.
    socket.on('end', () => socket.end());
    // A reset by the peer ends the connection like a close; 'close' follows.
    socket.on('error', () => undefined);
  }

  /** True once the TCP connection is gone. */
  get isClosed(): boolean {
    return this.ended;
  }

  sendText(text: string): void {
    if (this.closeSent || this.ended) throw new Error('Socket Mode connection is closing or closed');
    this.socket.write(encodeFrame(OP_TEXT, Buffer.from(text, 'utf8')));
  }

  sendJson(value: unknown): void {
    this.sendText(JSON.stringify(value));
  }

  /**
   * Sends one envelope as Slack does and resolves with the app's ack of it (same envelope_id).
   * `accepts_response_payload` defaults to what Slack sends: true for slash commands, false otherwise.
   */
  async deliver(
    type: EnvelopeType,
    payload: unknown,
    options: { envelopeId?: string; acceptsResponsePayload?: boolean; timeoutMs?: number } = {},
  ): Promise<{ envelopeId: string; ack: SocketModeAck; ackMs: number }> {
    const envelopeId = options.envelopeId ?? randomUUID();
    const acked = this.waitForMessage((m): m is SocketModeAck => isAck(m) && m.envelope_id === envelopeId, options.timeoutMs, `ack of ${envelopeId}`);
    const sentAt = performance.now();
    this.sendJson({
      envelope_id: envelopeId,
      type,
      payload,
      accepts_response_payload: options.acceptsResponsePayload ?? type === 'slash_commands',
    });
    const ack = await acked;
    return { envelopeId, ack, ackMs: performance.now() - sentAt };
  }

  /** Resolves with the first message from the app (already received or still to come) that matches. */
  waitForMessage<T>(predicate: (message: unknown) => message is T, timeoutMs?: number, what?: string): Promise<T>;
  waitForMessage(predicate: (message: unknown) => boolean, timeoutMs?: number, what?: string): Promise<unknown>;
  waitForMessage(predicate: (message: unknown) => boolean, timeoutMs = DEFAULT_WAIT_MS, what = 'message'): Promise<unknown> {
    const found = this.received.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const onMessage = (message: unknown) => {
        if (!predicate(message)) return;
        cleanup();
        resolve(message);
      };
      const onClosed = () => {
        cleanup();
        reject(new Error(`Socket Mode connection closed before the ${what}; received: ${this.describe()}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no ${what} on the Socket Mode connection within ${timeoutMs} ms; received: ${this.describe()}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.events.off('message', onMessage);
        this.events.off('closed', onClosed);
      };
      this.events.on('message', onMessage);
      this.events.once('closed', onClosed);
      if (this.ended) onClosed();
    });
  }

  /** Resolves when the TCP connection is gone; rejects after `timeoutMs`. */
  waitForClose(timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.events.off('closed', onClosed);
        reject(new Error(`Socket Mode connection still open after ${timeoutMs} ms`));
      }, timeoutMs);
      const onClosed = () => {
        clearTimeout(timer);
        resolve();
      };
      this.events.once('closed', onClosed);
    });
  }

  /** Server-side close handshake (Slack's side ending the connection), bounded; then the socket is destroyed. */
  async close(code = 1001, timeoutMs = 2000): Promise<void> {
    if (this.ended) return;
    if (!this.closeSent) {
      this.closeSent = true;
      const payload = Buffer.alloc(2);
      payload.writeUInt16BE(code, 0);
      this.socket.write(encodeFrame(OP_CLOSE, payload));
    }
    await this.waitForClose(timeoutMs).catch(() => undefined);
    this.socket.destroy();
  }

  /** Ends the connection at once, without a close frame (a dropped connection). */
  destroy(): void {
    this.socket.destroy();
  }

  private describe(): string {
    return this.received.map((m) => JSON.stringify(m)).join(' | ').slice(0, 500) || 'nothing';
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const { frames, rest } = decodeFrames(this.buffer);
    this.buffer = rest;
    for (const frame of frames) this.onFrame(frame);
  }

  private onFrame(frame: Frame): void {
    // RFC 6455 5.1: a client masks every frame.
    if (!frame.masked) this.violations.push(`unmasked frame (opcode ${frame.opcode})`);
    switch (frame.opcode) {
      case OP_TEXT:
      case OP_CONTINUATION: {
        this.fragments.push(frame.payload);
        if (!frame.fin) return;
        const text = Buffer.concat(this.fragments).toString('utf8');
        this.fragments = [];
        let message: unknown = text;
        try {
          message = JSON.parse(text) as unknown;
        } catch {
          this.violations.push(`not JSON: ${text.slice(0, 100)}`);
        }
        this.received.push(message);
        this.events.emit('message', message);
        return;
      }
      case OP_BINARY:
        this.violations.push('binary frame');
        return;
      case OP_PING:
        if (!this.closeSent && !this.ended) this.socket.write(encodeFrame(OP_PONG, frame.payload));
        return;
      case OP_PONG:
        return;
      case OP_CLOSE: {
        this.closeCode = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
        if (!this.closeSent) {
          // Echo the close (RFC 6455 5.5.1), then the server closes the TCP connection.
          this.closeSent = true;
          this.socket.write(encodeFrame(OP_CLOSE, frame.payload.subarray(0, 2)));
        }
        this.socket.end();
        return;
      }
      default:
        this.violations.push(`unknown opcode ${frame.opcode}`);
    }
  }

  private onClosed(): void {
    if (this.ended) return;
    this.ended = true;
    this.events.emit('closed');
  }
}

export interface FakeSocketModeOptions {
  /** Sent as the first message of each connection; false: send none (a handshake that never completes). */
  hello?: Record<string, unknown> | false;
}

/** The fake Socket Mode endpoint: `url` is what `apps.connections.open` should answer. */
export class FakeSocketModeServer {
  readonly connections: SocketModeConnection[] = [];
  /** Upgrade requests refused (wrong path or not a WebSocket handshake). */
  readonly refused: string[] = [];
  private readonly events = new EventEmitter<{ connection: [SocketModeConnection] }>();
  private readonly sockets = new Set<Duplex>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly path: string,
  ) {
    this.events.setMaxListeners(0);
  }

  static async start(options: FakeSocketModeOptions = {}): Promise<FakeSocketModeServer> {
    const path = '/link/';
    const server = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket', connection: 'close' });
      res.end('WebSocket only');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    const fake = new FakeSocketModeServer(server, `ws://127.0.0.1:${port}${path}?ticket=${randomUUID()}&app_id=A0APP`, path);
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => fake.onUpgrade(req, socket, head, options));
    return fake;
  }

  /** Resolves with the `index`-th connection (0: the first), already accepted or still to come. */
  waitForConnection(index = 0, timeoutMs = DEFAULT_WAIT_MS): Promise<SocketModeConnection> {
    const existing = this.connections[index];
    if (existing !== undefined) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const onConnection = () => {
        const connection = this.connections[index];
        if (connection === undefined) return;
        clearTimeout(timer);
        this.events.off('connection', onConnection);
        resolve(connection);
      };
      const timer = setTimeout(() => {
        this.events.off('connection', onConnection);
        reject(new Error(`no Socket Mode connection #${index} within ${timeoutMs} ms (${this.connections.length} so far; refused: ${this.refused.join(', ') || 'none'})`));
      }, timeoutMs);
      this.events.on('connection', onConnection);
    });
  }

  /** Closes every connection (Slack's side of the close handshake, bounded) and the server. */
  async close(): Promise<void> {
    await Promise.all(this.connections.map((c) => c.close()));
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve, reject) => {
      this.server.close((error) => (error ? reject(error) : resolve()));
      this.server.closeAllConnections();
    });
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, options: FakeSocketModeOptions): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    const key = req.headers['sec-websocket-key'];
    const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const problem =
      req.method !== 'GET'
        ? `method ${req.method}`
        : (req.headers.upgrade ?? '').toLowerCase() !== 'websocket'
          ? 'no upgrade: websocket'
          : req.headers['sec-websocket-version'] !== '13'
            ? `version ${req.headers['sec-websocket-version']}`
            : typeof key !== 'string' || key === ''
              ? 'no key'
              : pathname !== this.path
                ? `path ${pathname}`
                : undefined;
    if (problem !== undefined || typeof key !== 'string') {
      this.refused.push(problem ?? 'no key');
      socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    const accept = createHash('sha1').update(`${key}${WS_GUID}`).digest('base64');
    // No Sec-WebSocket-Extensions: the client's permessage-deflate offer is declined, frames stay plain.
    socket.write(['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept}`, '', ''].join('\r\n'));
    const connection = new SocketModeConnection(socket, req, head);
    this.connections.push(connection);
    if (options.hello !== false) {
      connection.sendJson(
        options.hello ?? {
          type: 'hello',
          num_connections: this.connections.filter((c) => !c.isClosed).length,
          debug_info: { host: 'applink-fake', build_number: 1, approximate_connection_time: 18060 },
          connection_info: { app_id: 'A0APP' },
        },
      );
    }
    this.events.emit('connection', connection);
  }
}
