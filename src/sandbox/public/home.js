// The app's Home tab (issue 14): a "Home" entry in the sidebar that opens the view the bot
// published for the person at the keyboard (views.publish). Opening it sends Slack's signed
// app_home_opened through the server; the view is redrawn whenever the bot publishes a new one.
// Block Kit rendering and the current person come from app.js (window.sandboxPage).

const page = window.sandboxPage;
const nav = document.querySelector('nav[aria-label="Channels"]');
const main = document.querySelector('main.channel');

const entry = document.createElement('ul');
entry.className = 'channel-list';
entry.innerHTML = '<li><button id="home-entry" type="button">🏠 Home</button></li>';
nav?.before(entry);
const entryButton = entry.querySelector('#home-entry');

const pane = document.createElement('main');
pane.id = 'home-pane';
pane.className = 'channel';
pane.hidden = true;
pane.setAttribute('aria-labelledby', 'home-title');
pane.innerHTML = [
  '<header class="channel-header"><h1 id="home-title">Home</h1>',
  '<span class="topic">pgbackup, as only you see it</span></header>',
  '<div id="home-view" class="messages" aria-live="polite"><p class="topic">Opening…</p></div>',
].join('');
main?.after(pane);
const viewBox = pane.querySelector('#home-view');

let open = false;
let shown = null;

function renderActions(block) {
  const buttons = (block.elements ?? []).filter((e) => e.type === 'button').map((e) => [
    `<button type="button" class="blk-btn${e.style === 'primary' ? ' primary' : e.style === 'danger' ? ' danger' : ''}"`,
    ` data-home-action="${page.esc(e.action_id)}" data-home-block="${page.esc(block.block_id ?? '')}"`,
    e.accessibility_label ? ` aria-label="${page.esc(e.accessibility_label)}"` : '',
    `>${page.plainText(e.text)}</button>`,
  ].join(''));
  return `<div class="blk blk-actions">${buttons.join('')}</div>`;
}

function render() {
  if (!open) return;
  if (!shown) {
    viewBox.innerHTML = '<p class="topic">Opening…</p>';
    return;
  }
  const blocks = Array.isArray(shown.blocks) ? shown.blocks : [];
  viewBox.innerHTML = `<div class="home-view">${blocks.map((b) => (b.type === 'actions' ? renderActions(b) : page.renderBlock(b))).join('')}</div>`;
}

const post = (path, body) => page.post(path, body);

/** The last view published for whoever is at the keyboard (after a reload or a switch of person). */
async function load() {
  const result = await post('/sandbox/home', { user: page.userId() });
  shown = result.view ?? null;
  render();
}

async function show() {
  open = true;
  main.hidden = true;
  document.getElementById('thread').hidden = true;
  pane.hidden = false;
  entryButton.classList.add('active');
  document.body.classList.add('home-open');
  await load();
  const result = await post('/sandbox/home/open', { user: page.userId() });
  if (!result.ok) page.toast(`The Home did not reach the bot: ${result.error ?? 'error'}`);
}

function hide() {
  if (!open) return;
  open = false;
  pane.hidden = true;
  main.hidden = false;
  entryButton.classList.remove('active');
  document.body.classList.remove('home-open');
}

entryButton.addEventListener('click', () => void show());
// A channel picked in the sidebar leaves the Home (app.js switches the channel itself).
document.addEventListener('click', (event) => {
  if (event.target.closest('[data-channel]')) hide();
}, true);
viewBox.addEventListener('click', async (event) => {
  const button = event.target.closest('[data-home-action]');
  if (!button) return;
  button.classList.add('busy');
  const result = await post('/sandbox/home/action', { user: page.userId(), actionId: button.dataset.homeAction, blockId: button.dataset.homeBlock });
  button.classList.remove('busy');
  page.toast(result.ok ? 'Sent; the bot answers in #backup-alerts' : `The click did not reach the bot: ${result.error ?? 'error'}`);
});
document.getElementById('user-select')?.addEventListener('change', () => {
  if (open) void show();
});

const source = new EventSource('/sandbox/events');
source.addEventListener('home', (event) => {
  const { user, view } = JSON.parse(event.data);
  if (user !== page.userId()) return;
  shown = view;
  render();
});
source.addEventListener('reset', () => {
  shown = null;
  render();
});
