// The sandbox page: a small Slack look-alike over the fake workspace. It keeps a copy of the
// workspace from the event stream (a full snapshot on every (re)connect, then changes) and
// renders the current channel and thread from it. Every piece of text that came from a
// message goes through esc() or mrkdwn(), which escape it, before it reaches innerHTML.

const $ = (id) => document.getElementById(id);

const params = new URLSearchParams(location.search);
const store = {
  get: (key) => { try { return localStorage.getItem(key); } catch { return null; } },
  set: (key, value) => { try { localStorage.setItem(key, value); } catch { /* private mode */ } },
};

const state = {
  snapshot: null,
  // ?user=bob&channel=C0OPS lets two tabs act as two people, e.g. requester and approver.
  userId: params.get('user') || store.get('sandbox.user') || 'U0ALICE',
  channelId: params.get('channel') || store.get('sandbox.channel') || 'C0OPS',
  threadTs: null,
  unread: new Map(),
  apiLog: [],
  history: [],
  historyIndex: -1,
};

// ---------------------------------------------------------------------------------------------
// Escaping and mrkdwn

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
function esc(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

// Slack escapes exactly these three in message text; the app sends them that way too.
function decodeSlackEntities(text) {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

const EMOJI = {
  white_check_mark: '✅', heavy_check_mark: '✔️', x: '❌', warning: '⚠️', rotating_light: '🚨',
  hourglass: '⌛', hourglass_flowing_sand: '⏳', floppy_disk: '💾', lock: '🔒', unlock: '🔓',
  arrows_counterclockwise: '🔄', repeat: '🔁', tada: '🎉', no_entry: '⛔', no_entry_sign: '🚫',
  large_green_circle: '🟢', red_circle: '🔴', large_yellow_circle: '🟡', large_blue_circle: '🔵',
  white_circle: '⚪', information_source: 'ℹ️', stopwatch: '⏱️', clock3: '🕒', package: '📦',
  recycle: '♻️', point_right: '👉', eyes: '👀', thumbsup: '👍', '+1': '👍', thumbsdown: '👎',
  '-1': '👎', construction: '🚧', fire: '🔥', ghost: '👻', memo: '📝', scroll: '📜', mag: '🔍',
  bell: '🔔', gear: '⚙️', hammer_and_wrench: '🛠️', elephant: '🐘', inbox_tray: '📥',
  outbox_tray: '📤', page_facing_up: '📄', card_file_box: '🗃️', file_cabinet: '🗄️',
  skull: '💀', octagonal_sign: '🛑', raised_hand: '✋', key: '🔑', shield: '🛡️', ok: '🆗',
  alarm_clock: '⏰', ballot_box_with_check: '☑️', wastebasket: '🗑️', leftwards_arrow_with_hook: '↩️',
  grey_question: '❔', question: '❓', grey_exclamation: '❕', exclamation: '❗', hourglass_done: '⌛',
};
function emoji(html) {
  return html.replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] ?? whole);
}

function userName(id) {
  return state.snapshot?.users.find((u) => u.id === id)?.name ?? id;
}
function channelName(id) {
  return state.snapshot?.channels.find((c) => c.id === id)?.name ?? id;
}

function renderAngle(inner) {
  const [target, ...rest] = inner.split('|');
  const label = rest.length > 0 ? decodeSlackEntities(rest.join('|')) : undefined;
  if (target.startsWith('@')) {
    const id = target.slice(1);
    const me = id === state.userId ? ' me' : '';
    return `<span class="mention${me}">@${esc(label ?? userName(id))}</span>`;
  }
  if (target.startsWith('#')) {
    const id = target.slice(1);
    return `<span class="mention channel-link" data-channel="${esc(id)}">#${esc(label ?? channelName(id))}</span>`;
  }
  if (target.startsWith('!')) {
    const special = target.slice(1);
    if (['here', 'channel', 'everyone'].includes(special)) return `<span class="mention">@${esc(special)}</span>`;
    return esc(label ?? special.replace(/^subteam\^\w+/, '@group'));
  }
  const url = decodeSlackEntities(target);
  if (/^(https?:|mailto:)/i.test(url)) {
    return `<a href="${esc(url)}" target="_blank" rel="noopener noreferrer">${esc(label ?? url)}</a>`;
  }
  return esc(label ?? url);
}

// Bold, italic and strike only at word edges, as Slack does, so snake_case and 2*3*4 survive.
function inlineFormat(html) {
  return html
    .replace(/(^|[^\w*])\*(?=\S)([^*\n]*?\S)\*(?!\w)/g, '$1<b>$2</b>')
    .replace(/(^|[^\w_])_(?=\S)([^_\n]*?\S)_(?!\w)/g, '$1<i>$2</i>')
    .replace(/(^|[^\w~])~(?=\S)([^~\n]*?\S)~(?!\w)/g, '$1<s>$2</s>');
}

function mrkdwn(source) {
  const slots = [];
  const hold = (html) => `\u0000${slots.push(html) - 1}\u0000`;
  // The control characters below mark held-back pieces; none may come from the message itself.
  let text = String(source ?? '').replace(/[\u0000-\u0002]/g, '');
  text = text.replace(/```\n?([\s\S]*?)```/g, (_, code) => hold(`<pre>${esc(decodeSlackEntities(code))}</pre>`));
  text = text.replace(/`([^`\n]+)`/g, (_, code) => hold(`<code>${esc(decodeSlackEntities(code))}</code>`));
  text = text.replace(/<([^<>\n]+)>/g, (_, inner) => hold(renderAngle(inner)));
  let html = esc(decodeSlackEntities(text));
  html = html.replace(/(^|\n)&gt; ?([^\n]*)/g, (_, start, quoted) => `${start}\u0001${quoted}\u0002`);
  html = emoji(inlineFormat(html));
  html = html.replace(/\u0001([^\u0002]*)\u0002\n?/g, '<blockquote>$1</blockquote>').replace(/\n/g, '<br>');
  return html.replace(/\u0000(\d+)\u0000/g, (_, i) => slots[Number(i)]);
}

function textObject(obj) {
  if (!obj || typeof obj.text !== 'string') return '';
  if (obj.type === 'mrkdwn') return mrkdwn(obj.text);
  const plain = esc(obj.text).replace(/\n/g, '<br>');
  return obj.emoji === false ? plain : emoji(plain);
}

function plainText(obj) {
  return obj && typeof obj.text === 'string' ? emoji(esc(obj.text)) : '';
}

// ---------------------------------------------------------------------------------------------
// Block Kit

// Filled during a render: data-btn="<index>" on a button points at what a click must send.
let buttons = [];

// A redraw replaces every control; this names one so the redraw can find it again (focus).
function focusKey(...parts) {
  return esc(parts.map((p) => String(p ?? '')).join('|'));
}

function renderElement(el, ctx, blockId) {
  if (!el || typeof el !== 'object') return '';
  if (el.type === 'button') {
    const index = buttons.push({
      messageTs: ctx.ts,
      channel: ctx.channel,
      blockId,
      actionId: el.action_id,
      value: el.value,
      url: el.url,
      confirm: el.confirm,
    }) - 1;
    const style = el.style === 'primary' || el.style === 'danger' ? ` ${el.style}` : '';
    const label = el.accessibility_label ? ` aria-label="${esc(el.accessibility_label)}"` : '';
    const key = focusKey('btn', ctx.ts, blockId, el.action_id, el.value);
    return `<button type="button" class="blk-btn${style}" data-btn="${index}" data-action-id="${esc(el.action_id)}" data-focus-key="${key}"${label}>${plainText(el.text)}</button>`;
  }
  if (el.type === 'image') return `<span class="blk-image">[image: ${esc(el.alt_text)}]</span>`;
  if (el.type === 'overflow') return '<button type="button" class="blk-btn" disabled>⋯</button>';
  const placeholder = el.placeholder ? plainText(el.placeholder) : esc(el.type);
  return `<span class="blk-unsupported">[${placeholder}]</span>`;
}

function flattenRichText(node) {
  if (!node || typeof node !== 'object') return '';
  if (typeof node.text === 'string') return node.text;
  if (node.type === 'user') return `<@${node.user_id}>`;
  if (node.type === 'channel') return `<#${node.channel_id}>`;
  if (node.type === 'link') return `<${node.url}${node.text ? `|${node.text}` : ''}>`;
  if (node.type === 'emoji') return `:${node.name}:`;
  return Array.isArray(node.elements) ? node.elements.map(flattenRichText).join('') : '';
}

function renderBlock(block, ctx) {
  const id = block.block_id;
  switch (block.type) {
    case 'header':
      return `<div class="blk blk-header">${plainText(block.text)}</div>`;
    case 'section': {
      const text = block.text ? `<div>${textObject(block.text)}</div>` : '';
      const fields = Array.isArray(block.fields)
        ? `<div class="blk-fields">${block.fields.map((f) => `<div>${textObject(f)}</div>`).join('')}</div>`
        : '';
      const accessory = block.accessory ? `<div class="blk-accessory">${renderElement(block.accessory, ctx, id)}</div>` : '';
      return `<div class="blk blk-section"><div class="blk-section-main">${text}${fields}</div>${accessory}</div>`;
    }
    case 'context': {
      const parts = (block.elements ?? []).map((e) =>
        e.type === 'image' ? `<span class="blk-image">[${esc(e.alt_text)}]</span>` : `<span>${textObject(e)}</span>`);
      return `<div class="blk blk-context">${parts.join('')}</div>`;
    }
    case 'divider':
      return '<hr class="blk-divider">';
    case 'actions':
      return `<div class="blk blk-actions">${(block.elements ?? []).map((e) => renderElement(e, ctx, id)).join('')}</div>`;
    case 'image':
      return `<div class="blk blk-image">[image: ${esc(block.alt_text)}]</div>`;
    case 'rich_text':
      return `<div class="blk">${mrkdwn(flattenRichText(block))}</div>`;
    default:
      return `<div class="blk blk-unsupported">[unsupported block: ${esc(block.type)}]</div>`;
  }
}

function renderAttachments(attachments, ctx) {
  if (!Array.isArray(attachments)) return '';
  return attachments.map((a) => {
    const color = ['good', 'warning', 'danger'].includes(a.color) ? ` ${a.color}` : '';
    const body = [
      a.title ? `<div><b>${esc(a.title)}</b></div>` : '',
      a.text ? `<div>${mrkdwn(a.text)}</div>` : '',
      Array.isArray(a.blocks) ? a.blocks.map((b) => renderBlock(b, ctx)).join('') : '',
    ].join('');
    return `<div class="attachment"><div class="bar${color}"></div><div>${body || esc(a.fallback ?? '')}</div></div>`;
  }).join('');
}

function renderContent(msg, ctx) {
  // Slack shows the blocks when there are any; the text is then only the notification fallback.
  const main = Array.isArray(msg.blocks) && msg.blocks.length > 0
    ? msg.blocks.map((b) => renderBlock(b, ctx)).join('')
    : `<div>${mrkdwn(msg.text)}</div>`;
  return main + renderAttachments(msg.attachments, ctx);
}

// ---------------------------------------------------------------------------------------------
// Messages

function tsTime(ts) {
  return new Date(Number(String(ts).split('.')[0]) * 1000);
}
function clock(ts) {
  return tsTime(ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}
const byTs = (a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0);

function sender(id) {
  const user = state.snapshot?.users.find((u) => u.id === id);
  const name = user?.name ?? id;
  if (id === 'USLACKBOT') return { name: 'Slackbot', avatar: '<div class="avatar slackbot">SB</div>', app: false };
  if (user?.isBot) return { name, avatar: '<div class="avatar bot" aria-hidden="true">🐘</div>', app: true };
  const tint = [...String(id)].reduce((n, c) => n + c.charCodeAt(0), 0) % 4;
  return { name, avatar: `<div class="avatar c${tint}">${esc(name.slice(0, 1).toUpperCase())}</div>`, app: false };
}

// A one-line preview of a parent message: link labels kept, formatting marks dropped.
function plainSnippet(text) {
  const plain = decodeSlackEntities(String(text).replace(/<[^<>|]*\|([^<>]*)>/g, '$1').replace(/<([^<>]*)>/g, '$1'))
    .replace(/[*_~`]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  return plain.length > 80 ? `${plain.slice(0, 79)}…` : plain;
}

function replyInfo(channel, parentTs) {
  const replies = channel.messages.filter((m) => m.thread_ts === parentTs && m.ts !== parentTs);
  return { count: replies.length, last: replies.length > 0 ? replies[replies.length - 1].ts : undefined };
}

function renderMessage(item, channel, where) {
  const msg = item.message;
  const who = sender(item.ephemeral ? msg.from : msg.user);
  const ctx = { ts: msg.ts, channel: channel.id };
  const classes = ['msg'];
  if (item.ephemeral) classes.push('ephemeral');
  const head = [
    `<span class="name">${esc(who.name)}</span>`,
    who.app ? '<span class="app-badge">APP</span>' : '',
    `<time datetime="${tsTime(msg.ts).toISOString()}" title="${esc(tsTime(msg.ts).toLocaleString())}">${clock(msg.ts)}</time>`,
    msg.edited ? `<span class="edited" title="${esc(clock(msg.edited.ts))}">(edited)</span>` : '',
  ].join('');
  let before = '';
  let after = '';
  if (item.ephemeral) {
    before = `<div class="only-you">Only visible to you · <button type="button" class="link-button" data-dismiss="${esc(msg.ts)}" data-focus-key="${focusKey('dismiss', msg.ts)}">Dismiss</button></div>`;
  }
  const isReply = msg.thread_ts && msg.thread_ts !== msg.ts;
  if (isReply && msg.reply_broadcast) {
    if (where === 'channel') {
      const parent = channel.messages.find((m) => m.ts === msg.thread_ts);
      const snippet = parent ? plainSnippet(parent.text) : 'a thread';
      before += `<div class="broadcast-note">replied to a thread: <button type="button" class="link-button" data-open-thread="${esc(msg.thread_ts)}" data-focus-key="${focusKey('broadcast', msg.ts)}">${esc(snippet)}</button></div>`;
    } else {
      before += '<div class="thread-note">Also sent to the channel</div>';
    }
  }
  if (where === 'channel' && !isReply && !item.ephemeral) {
    const { count, last } = replyInfo(channel, msg.ts);
    if (count > 0) {
      after = `<button type="button" class="replies" data-open-thread="${esc(msg.ts)}" data-focus-key="${focusKey('replies', msg.ts)}"><span class="count">${count} ${count === 1 ? 'reply' : 'replies'}</span><span class="last">Last reply ${clock(last)}</span></button>`;
    }
  }
  if (where === 'channel' && msg.ts === state.threadTs) classes.push('highlight');
  // tabindex -1: focus can rest on the message when the control it was on goes away.
  return `<div class="${classes.join(' ')}" data-ts="${esc(msg.ts)}" tabindex="-1"${item.ephemeral ? ' data-ephemeral="true"' : ''}>
    ${who.avatar}
    <div class="msg-body">${before}<div class="meta">${head}</div><div class="content">${renderContent(msg, ctx)}</div>${after}</div>
  </div>`;
}

function myEphemerals(channelId) {
  return (state.snapshot?.ephemerals[state.userId] ?? []).filter((e) => e.channel === channelId);
}

function currentChannel() {
  const channels = state.snapshot?.channels ?? [];
  return channels.find((c) => c.id === state.channelId) ?? channels[0];
}

// ---------------------------------------------------------------------------------------------
// Rendering

function nearBottom(el) {
  return el.scrollHeight - el.scrollTop - el.clientHeight < 60;
}

function paint(el, html, forceBottom) {
  const stick = forceBottom || nearBottom(el);
  const top = el.scrollTop;
  el.innerHTML = html;
  el.scrollTop = stick ? el.scrollHeight : top;
}

function renderSidebar() {
  const snap = state.snapshot;
  $('team-name').textContent = snap.team.domain;
  $('channel-list').innerHTML = snap.channels.map((c) => {
    const unread = state.unread.get(c.id) ?? 0;
    const cls = [c.id === state.channelId ? 'active' : '', unread > 0 ? 'unread' : ''].join(' ').trim();
    const badge = unread > 0 ? `<span class="badge">${unread}</span>` : '';
    return `<li><button type="button" class="${cls}" data-channel="${esc(c.id)}" data-focus-key="${focusKey('channel', c.id)}"><span># ${esc(c.name)}</span>${badge}</button></li>`;
  }).join('');
  const people = snap.users.filter((u) => !u.isBot);
  const select = $('user-select');
  const options = people.map((u) => `<option value="${esc(u.id)}">${esc(u.name)} — ${esc(u.title)}</option>`).join('');
  if (select.dataset.options !== options) {
    select.innerHTML = options;
    select.dataset.options = options;
  }
  if (!people.some((u) => u.id === state.userId) && people[0]) state.userId = people[0].id;
  select.value = state.userId;
  const me = people.find((u) => u.id === state.userId);
  // The picker cuts long labels short; what the person may do is spelled out here too.
  $('user-title').textContent = me ? `${me.realName} (${me.id}): ${me.title}` : '';
  select.title = me ? `${me.name} — ${me.title}` : '';
}

function renderChannel(forceBottom) {
  const channel = currentChannel();
  if (!channel) return;
  state.channelId = channel.id;
  $('channel-name').textContent = `# ${channel.name}`;
  $('channel-topic').textContent = channel.topic;
  $('not-member').hidden = channel.isMember;
  $('command').placeholder = `Message #${channel.name}, or a command: /pgbackup help`;
  const items = [
    ...channel.messages
      .filter((m) => !m.thread_ts || m.thread_ts === m.ts || m.reply_broadcast)
      .map((message) => ({ message, ephemeral: false })),
    ...myEphemerals(channel.id).filter((e) => !e.thread_ts).map((message) => ({ message, ephemeral: true })),
  ].sort((a, b) => byTs(a.message, b.message));
  const html = items.length > 0
    ? items.map((item) => renderMessage(item, channel, 'channel')).join('')
    : `<div class="empty">This is the very beginning of <b>#${esc(channel.name)}</b>. Try <code>/pgbackup help</code> below.</div>`;
  paint($('messages'), html, forceBottom);
}

function renderThread(forceBottom) {
  const pane = $('thread');
  const channel = currentChannel();
  const parent = channel?.messages.find((m) => m.ts === state.threadTs);
  if (!channel || !parent) {
    pane.hidden = true;
    state.threadTs = null;
    return;
  }
  pane.hidden = false;
  $('thread-channel').textContent = `# ${channel.name}`;
  const replies = [
    ...channel.messages.filter((m) => m.thread_ts === parent.ts && m.ts !== parent.ts).map((message) => ({ message, ephemeral: false })),
    ...myEphemerals(channel.id).filter((e) => e.thread_ts === parent.ts).map((message) => ({ message, ephemeral: true })),
  ].sort((a, b) => byTs(a.message, b.message));
  const count = replies.filter((r) => !r.ephemeral).length;
  const html = renderMessage({ message: parent, ephemeral: false }, channel, 'thread')
    + `<div class="thread-divider">${count} ${count === 1 ? 'reply' : 'replies'}</div>`
    + replies.map((item) => renderMessage(item, channel, 'thread')).join('');
  paint($('thread-messages'), html, forceBottom);
}

function renderApiLog() {
  $('api-log').innerHTML = state.apiLog.map((c) => {
    const outcome = c.ok ? '✓' : `✗ ${esc(c.error ?? '')}${c.status !== 200 ? ` (${c.status})` : ''}`;
    const where = c.channel ? ` ${esc(c.channel)}` : '';
    return `<li class="${c.ok ? '' : 'fail'}" title="${esc(new Date(c.at).toLocaleTimeString())}">${esc(c.method)}${where} ${outcome}</li>`;
  }).join('');
}

let frame = 0;
let pendingBottom = false;
// A redraw replaces every button. One between the press and the release of a click would send
// the release to a new element, and the browser would then fire no click at all; so while a
// pointer is down the drawing waits, and happens once it is released.
let pointerDown = false;
let heldBack = false;
function render(forceBottom = false) {
  pendingBottom = pendingBottom || forceBottom;
  if (frame) return;
  // Bursts of events (a log tail editing its message, a poller posting replies) draw once per frame.
  frame = requestAnimationFrame(() => {
    frame = 0;
    if (!state.snapshot) return;
    if (pointerDown) {
      heldBack = true;
      return;
    }
    const bottom = pendingBottom;
    pendingBottom = false;
    const focus = rememberFocus();
    buttons = [];
    renderSidebar();
    renderChannel(bottom);
    renderThread(bottom);
    restoreFocus(focus);
  });
}

// The panes a redraw replaces. Focus elsewhere (the composer, the picker, the dialog) is never
// touched by a redraw, so its text and caret stay as they are.
const REDRAWN = '#messages, #thread-messages, #channel-list';

/** Where focus is, in words that survive a redraw: the pane, the control's key, its message. */
function rememberFocus(el = document.activeElement) {
  const pane = el?.closest?.(REDRAWN);
  if (!pane) return null;
  return { pane: pane.id, key: el.dataset.focusKey ?? null, ts: el.closest('.msg[data-ts]')?.dataset.ts ?? null };
}

/** Puts focus back on the same control, else on its message, else on the pane; never on <body>. */
function restoreFocus(memo) {
  if (!memo) return;
  const active = document.activeElement;
  if (active && active !== document.body && active.isConnected) return;
  const pane = $(memo.pane);
  const target = (memo.key && pane.querySelector(`[data-focus-key="${CSS.escape(memo.key)}"]`))
    || (memo.ts && pane.querySelector(`.msg[data-ts="${CSS.escape(memo.ts)}"]`))
    || pane;
  target.focus({ preventScroll: true });
}

// ---------------------------------------------------------------------------------------------
// Live updates

function channelById(id) {
  return state.snapshot?.channels.find((c) => c.id === id);
}

function markUnread(channelId) {
  if (channelId !== state.channelId) state.unread.set(channelId, (state.unread.get(channelId) ?? 0) + 1);
}

function upsert(list, item) {
  const index = list.findIndex((x) => x.ts === item.ts);
  if (index >= 0) list[index] = item;
  else {
    list.push(item);
    list.sort(byTs);
  }
}

const handlers = {
  snapshot(data) {
    state.snapshot = data;
    render(true);
  },
  message(msg) {
    const channel = channelById(msg.channel);
    if (!channel) return;
    upsert(channel.messages, msg);
    if (!msg.thread_ts || msg.thread_ts === msg.ts || msg.reply_broadcast) markUnread(msg.channel);
  },
  update(msg) {
    const channel = channelById(msg.channel);
    if (channel) upsert(channel.messages, msg);
  },
  delete({ channel, ts }) {
    const c = channelById(channel);
    if (c) c.messages = c.messages.filter((m) => m.ts !== ts);
  },
  ephemeral(e) {
    const list = (state.snapshot.ephemerals[e.user] ??= []);
    const isNew = !list.some((x) => x.ts === e.ts);
    upsert(list, e);
    if (isNew && e.user === state.userId) markUnread(e.channel);
  },
  ephemeral_delete({ user, ts }) {
    const list = state.snapshot.ephemerals[user];
    if (list) state.snapshot.ephemerals[user] = list.filter((e) => e.ts !== ts);
  },
  reset() {
    for (const c of state.snapshot.channels) c.messages = [];
    state.snapshot.ephemerals = {};
    state.unread.clear();
  },
  call(summary) {
    state.apiLog.unshift(summary);
    state.apiLog.length = Math.min(state.apiLog.length, 100);
    renderApiLog();
  },
};

function connect() {
  const source = new EventSource('/sandbox/events');
  const status = $('conn-status');
  source.onopen = () => {
    status.dataset.state = 'live';
    status.textContent = 'live';
  };
  source.onerror = () => {
    // EventSource reconnects by itself; the server then sends a fresh snapshot.
    status.dataset.state = 'down';
    status.textContent = 'reconnecting…';
  };
  for (const [name, handle] of Object.entries(handlers)) {
    source.addEventListener(name, (event) => {
      const data = JSON.parse(event.data);
      if (name !== 'snapshot' && !state.snapshot) return;
      handle(data);
      if (name !== 'call' && name !== 'response') render();
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Talking to the sandbox server

/** A POST of JSON to the sandbox server: its answer, or `{ ok: false, error }` when there is none. */
async function fetchJson(path, body) {
  try {
    const res = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = await res.json().catch(() => ({ ok: false, error: `HTTP ${res.status}` }));
    return res.ok ? json : { ...json, ok: false };
  } catch (error) {
    return { ok: false, error: `sandbox server unreachable (${error.message})` };
  }
}

async function postJson(path, body) {
  const json = await fetchJson(path, body);
  return { ok: json.ok !== false, error: json.error, botStatus: json.botStatus };
}

let toastTimer = 0;
function toast(text) {
  const el = $('toast');
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 4000);
}

function hint(text, isError = false) {
  const el = $('composer-hint');
  el.textContent = text;
  el.classList.toggle('error', isError);
}

// ---------------------------------------------------------------------------------------------
// Confirm dialog

/**
 * A modal dialog, like Slack's: Enter and Space act on the focused button only (Enter on
 * Cancel cancels), Escape cancels, Tab stays inside, and focus returns to the button that
 * opened it. It opens on Cancel: a stray Enter at 3 a.m. must not approve a restore.
 */
function askConfirm(confirm, opener) {
  return new Promise((resolve) => {
    const modal = $('modal');
    const app = $('app');
    const yes = $('modal-confirm');
    const no = $('modal-deny');
    const inside = [no, yes];
    const back = rememberFocus(opener);
    $('modal-title').innerHTML = plainText(confirm.title) || 'Are you sure?';
    $('modal-text').innerHTML = textObject(confirm.text);
    yes.innerHTML = plainText(confirm.confirm) || 'Yes';
    no.innerHTML = plainText(confirm.deny) || 'Cancel';
    yes.className = `blk-btn ${confirm.style === 'danger' ? 'danger' : 'primary'}`;
    const done = (answer) => {
      modal.hidden = true;
      app.inert = false;
      yes.onclick = no.onclick = modal.onclick = null;
      document.removeEventListener('keydown', onKey, true);
      document.removeEventListener('focusin', onFocusIn, true);
      // The opener may have been redrawn while the dialog was open: found again by its key.
      if (opener?.isConnected) opener.focus({ preventScroll: true });
      else restoreFocus(back);
      resolve(answer);
    };
    const onKey = (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        done(false);
      } else if (event.key === 'Tab') {
        event.preventDefault();
        const at = inside.indexOf(document.activeElement);
        const next = (at + (event.shiftKey ? -1 : 1) + inside.length) % inside.length;
        inside[at < 0 ? 0 : next].focus();
      }
    };
    // Focus that gets out anyway (a click on the backdrop's edge, a script) is brought back.
    const onFocusIn = (event) => {
      if (!modal.contains(event.target)) no.focus();
    };
    yes.onclick = () => done(true);
    no.onclick = () => done(false);
    modal.onclick = (event) => { if (event.target === modal) done(false); };
    document.addEventListener('keydown', onKey, true);
    document.addEventListener('focusin', onFocusIn, true);
    // Everything behind the dialog can be neither clicked nor focused while it is open.
    app.inert = true;
    modal.hidden = false;
    no.focus();
  });
}

// ---------------------------------------------------------------------------------------------
// User input

async function clickButton(el) {
  const meta = buttons[Number(el.dataset.btn)];
  if (!meta) return;
  if (meta.url) window.open(meta.url, '_blank', 'noopener,noreferrer');
  if (meta.confirm && !(await askConfirm(meta.confirm, el))) return;
  el.classList.add('busy');
  const result = await postJson('/sandbox/action', {
    user: state.userId,
    channel: meta.channel,
    messageTs: meta.messageTs,
    actionId: meta.actionId,
    ...(meta.blockId ? { blockId: meta.blockId } : {}),
    ...(meta.value !== undefined ? { value: meta.value } : {}),
  });
  el.classList.remove('busy');
  if (!result.ok) toast(`The click did not reach the bot: ${result.error ?? 'unknown error'}${result.botStatus ? ` (HTTP ${result.botStatus})` : ''}`);
}

async function sendCommand(raw) {
  const text = raw.trim();
  if (text === '') return;
  state.history.unshift(text);
  state.historyIndex = -1;
  // As in Slack: only a leading / makes a command; anything else is a message to the channel.
  if (!text.startsWith('/')) {
    hint('');
    const result = await postJson('/sandbox/message', { user: state.userId, channel: state.channelId, text });
    if (!result.ok) hint(`The message was not sent: ${result.error ?? 'unknown error'}`, true);
    return;
  }
  if (!/^\/pgbackup(\s|$)/.test(text)) {
    hint(`${text.split(/\s/)[0]} is not a command here; this sandbox has /pgbackup.`, true);
    return;
  }
  hint(`${userName(state.userId)} ran ${text}`);
  const result = await postJson('/sandbox/command', { user: state.userId, channel: state.channelId, text });
  if (!result.ok) hint(`${text} failed: ${result.error ?? 'unknown error'}`, true);
  // A command may change which backups exist (now, a restore): the examples follow.
  void loadExamples();
}

/** Commands to try, from the server: the restore one names a backup that is `done` now. */
async function loadExamples() {
  let examples = [];
  try {
    const res = await fetch('/sandbox/examples');
    const json = await res.json();
    if (Array.isArray(json.examples)) examples = json.examples.filter((e) => typeof e === 'string');
  } catch {
    return; // the connection status already says the server is gone
  }
  const box = $('examples');
  const html = examples.length === 0 ? '' : 'Try '
    + examples.map((e) => `<button type="button" class="example" data-example="${esc(e)}">${esc(e)}</button>`).join(' ');
  // Only when they changed: redrawing would take focus from an example button.
  if (box.dataset.html !== html) {
    box.innerHTML = html;
    box.dataset.html = html;
  }
}

/** An example goes into the composer, not straight to the bot: the person reads it, then sends. */
function useExample(text) {
  const input = $('command');
  input.value = text;
  input.focus();
  input.setSelectionRange(text.length, text.length);
}

function switchChannel(id) {
  if (!channelById(id)) return;
  state.channelId = id;
  state.threadTs = null;
  state.unread.delete(id);
  store.set('sandbox.channel', id);
  render(true);
}

function onClick(event) {
  const target = event.target.closest('[data-btn], [data-open-thread], [data-channel], [data-dismiss], [data-example]');
  if (!target) return;
  if (target.dataset.example !== undefined) {
    useExample(target.dataset.example);
  } else if (target.dataset.btn !== undefined) {
    void clickButton(target);
  } else if (target.dataset.openThread !== undefined) {
    state.threadTs = target.dataset.openThread;
    render(true);
  } else if (target.dataset.channel !== undefined) {
    switchChannel(target.dataset.channel);
  } else if (target.dataset.dismiss !== undefined) {
    void postJson('/sandbox/dismiss', { user: state.userId, ts: target.dataset.dismiss });
  }
}

function onPointerRelease() {
  pointerDown = false;
  // The click of this release is dispatched before the next frame, so drawing now is safe.
  if (heldBack) {
    heldBack = false;
    render();
  }
}

function init() {
  document.addEventListener('click', onClick);
  document.addEventListener('pointerdown', () => { pointerDown = true; }, true);
  document.addEventListener('pointerup', onPointerRelease, true);
  document.addEventListener('pointercancel', onPointerRelease, true);
  window.addEventListener('blur', onPointerRelease);
  $('thread-close').addEventListener('click', () => {
    state.threadTs = null;
    render();
  });
  $('user-select').addEventListener('change', (event) => {
    state.userId = event.target.value;
    store.set('sandbox.user', state.userId);
    hint('');
    render(true);
  });
  const input = $('command');
  $('composer').addEventListener('submit', (event) => {
    event.preventDefault();
    const text = input.value;
    input.value = '';
    void sendCommand(text);
  });
  input.addEventListener('keydown', (event) => {
    if (event.key !== 'ArrowUp' && event.key !== 'ArrowDown') return;
    if (state.history.length === 0) return;
    event.preventDefault();
    const step = event.key === 'ArrowUp' ? 1 : -1;
    state.historyIndex = Math.max(-1, Math.min(state.history.length - 1, state.historyIndex + step));
    input.value = state.historyIndex < 0 ? '' : state.history[state.historyIndex];
  });
  connect();
  void loadExamples();
  input.focus();
}

init();

// modal.js draws the bot's modals with this page's Block Kit rendering, for the person at the keyboard.
window.sandboxPage = { userId: () => state.userId, renderBlock: (block) => renderBlock(block, {}), plainText, esc, toast, post: fetchJson };
