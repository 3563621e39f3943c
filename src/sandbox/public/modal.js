// Modals the bot opens with views.open, drawn like Slack's: the blocks, input fields, field
// errors from `response_action: errors` under their fields; Enter submits (Shift+Enter makes a
// new line in a multi-line field), Escape closes. The rest of the page lives in app.js, which
// lends its Block Kit rendering and the current person through window.sandboxPage.

const page = window.sandboxPage;
const root = document.createElement('div');
root.id = 'view-modal';
root.className = 'view-backdrop';
root.hidden = true;
document.body.append(root);

/** The open modal of the current person: { id, view }, its field errors and what was typed. */
let current = null;
let errors = {};
let typed = {};
let submitting = false;

const fieldId = (blockId, actionId) => `vi-${blockId}-${actionId}`.replace(/[^A-Za-z0-9_-]/g, '_');

function renderInput(block) {
  const el = block.element ?? {};
  const id = fieldId(block.block_id, el.action_id);
  const value = page.esc(typed[block.block_id]?.[el.action_id] ?? el.initial_value ?? '');
  const placeholder = el.placeholder ? ` placeholder="${page.plainText(el.placeholder)}"` : '';
  const max = Number.isInteger(el.max_length) ? ` maxlength="${el.max_length}"` : '';
  const attrs = `id="${id}" data-block-id="${page.esc(block.block_id)}" data-action-id="${page.esc(el.action_id)}"${placeholder}${max}`;
  const field = el.multiline ? `<textarea ${attrs}>${value}</textarea>` : `<input type="text" ${attrs} value="${value}">`;
  const error = errors[block.block_id];
  return [
    `<div class="view-input${error ? ' invalid' : ''}" data-block-id="${page.esc(block.block_id)}">`,
    `<label for="${id}">${page.plainText(block.label)}${block.optional ? ' <span class="optional">(optional)</span>' : ''}</label>`,
    field,
    block.hint ? `<div class="view-hint">${page.plainText(block.hint)}</div>` : '',
    error ? `<div class="view-error" role="alert">${page.esc(error)}</div>` : '',
    '</div>',
  ].join('');
}

function render() {
  if (!current) {
    root.hidden = true;
    root.innerHTML = '';
    return;
  }
  const { view } = current;
  const blocks = (view.blocks ?? []).map((b) => (b.type === 'input' ? renderInput(b) : page.renderBlock(b))).join('');
  root.innerHTML = [
    '<div class="view-modal" role="dialog" aria-modal="true" aria-labelledby="view-title">',
    '<form id="view-form" novalidate>',
    `<header><h2 id="view-title">${page.plainText(view.title)}</h2>`,
    '<button type="button" class="icon-button" data-view-close aria-label="Close">×</button></header>',
    `<div class="view-body">${blocks}</div>`,
    '<footer>',
    `<button type="button" class="blk-btn" data-view-close>${page.plainText(view.close) || 'Cancel'}</button>`,
    `<button type="submit" class="blk-btn primary" id="view-submit">${page.plainText(view.submit) || 'Submit'}</button>`,
    '</footer></form></div>',
  ].join('');
  root.hidden = false;
  const firstInvalid = root.querySelector('.view-input.invalid input, .view-input.invalid textarea');
  (firstInvalid ?? root.querySelector('input, textarea') ?? root.querySelector('#view-submit'))?.focus();
}

function collect() {
  const values = {};
  for (const el of root.querySelectorAll('[data-action-id]')) {
    const text = el.value;
    (values[el.dataset.blockId] ??= {})[el.dataset.actionId] = text === '' ? null : text;
  }
  typed = values;
  return values;
}

const post = (path, body) => page.post(path, body);

async function submit() {
  if (!current || submitting) return;
  submitting = true;
  const { id } = current;
  try {
    const result = await post('/sandbox/view/submit', { user: page.userId(), viewId: id, values: collect() });
    if (current?.id !== id) return;
    if (!result.ok) {
      page.toast(`The app did not take the form: ${result.error ?? 'error'}`);
    } else if (result.errors) {
      errors = result.errors;
      render();
    } else {
      close(id, false);
    }
  } finally {
    submitting = false;
  }
}

function close(id, tellServer) {
  if (tellServer) void post('/sandbox/view/close', { user: page.userId(), viewId: id });
  if (current?.id !== id) return;
  current = null;
  errors = {};
  typed = {};
  render();
  document.getElementById('command')?.focus();
}

function show(stored) {
  if (stored.user !== page.userId()) return;
  const fresh = current?.id !== stored.id;
  current = stored;
  if (fresh) {
    errors = {};
    typed = {};
  }
  render();
}

/** The modal of whoever is now at the keyboard (after a switch of person or a reconnect). */
async function refresh() {
  const result = await post('/sandbox/views', { user: page.userId() });
  const views = Array.isArray(result.views) ? result.views : [];
  current = null;
  errors = {};
  typed = {};
  if (views.length > 0) show(views[views.length - 1]);
  else render();
}

root.addEventListener('submit', (event) => {
  event.preventDefault();
  void submit();
});
root.addEventListener('click', (event) => {
  if (!current) return;
  if (event.target === root || event.target.closest('[data-view-close]')) close(current.id, true);
});
// Capture, so the page's own shortcuts never see a key meant for the modal.
document.addEventListener('keydown', (event) => {
  if (!current || root.hidden) return;
  if (event.key === 'Escape') {
    event.preventDefault();
    event.stopPropagation();
    close(current.id, true);
  } else if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && root.contains(event.target) && !event.target.closest('[data-view-close]')) {
    event.preventDefault();
    event.stopPropagation();
    void submit();
  }
}, true);
document.getElementById('user-select')?.addEventListener('change', () => void refresh());

const source = new EventSource('/sandbox/events');
source.addEventListener('snapshot', () => void refresh());
source.addEventListener('reset', () => void refresh());
source.addEventListener('view', (event) => show(JSON.parse(event.data)));
source.addEventListener('view_closed', (event) => {
  const { id } = JSON.parse(event.data);
  if (current?.id === id) close(id, false);
});
